import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkSchema, lookupResultSchema, type Check } from '../../src/api/schemas.js';
import { DOVECOT_WORLD, startDovecotWorld, type DovecotWorld } from '../helpers/dovecot.js';
import { startService, type RunningService } from '../helpers/service-process.js';

/** This suite's loopback world (127.0.3.0/24). */
const GOOD = DOVECOT_WORLD.good;
/** Outside PROBE_ALLOW_CIDRS (127.0.3.0/25), so the address policy refuses it. */
const REFUSED = DOVECOT_WORLD.refused;

describe('live checks against a real Dovecot, names from a real dnsmasq', { timeout: 120_000 }, () => {
  let dir: string;
  let world: DovecotWorld | undefined;
  let service: RunningService | undefined;
  let refusedListener: net.Server | undefined;
  let refusedConnections = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dovecot-e2e-'));
    world = await startDovecotWorld(dir);
    // A listener at the refused address counts connections: it must stay at zero.
    refusedListener = net.createServer((socket) => {
      refusedConnections += 1;
      socket.end('* OK should never be reached\r\n');
    });
    await new Promise<void>((resolve) => refusedListener?.listen(993, REFUSED, resolve));
    const providers = join(dir, 'providers');
    mkdirSync(providers);
    const server = (protocol: string, port: number, security: string) => ({
      protocol, host: 'mail.dovecot.test', port, security, username: '%EMAILADDRESS%', authentication: ['password-cleartext'],
    });
    writeFileSync(
      join(providers, 'dovecot-test.json'),
      JSON.stringify({
        id: 'dovecot-test',
        name: 'Dovecot Test',
        domains: ['dovecot.test'],
        mxSuffixes: [],
        incoming: [server('imap', 993, 'tls'), server('imap', 143, 'starttls'), server('pop3', 995, 'tls'), server('pop3', 110, 'starttls')],
        outgoing: [server('smtp', 465, 'tls'), server('smtp', 587, 'starttls')],
        documentation: [],
        hints: [],
        lastVerified: '2026-11-27',
      }),
    );
    service = await startService({
      DNS_SERVERS: world.dnsServer,
      PROBE_ALLOW_CIDRS: DOVECOT_WORLD.allowCidrs,
      NODE_EXTRA_CA_CERTS: world.caFile,
      PROVIDERS_DIR: providers,
      CHECK_RATE_LIMIT_MAX: '1000',
      CHECK_TARGET_LIMIT_MAX: '1000',
      RATE_LIMIT_MAX: '1000',
    });
  });

  after(async () => {
    await service?.stop();
    await world?.stop();
    await new Promise<void>((resolve) => (refusedListener ? refusedListener.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const check = async (host: string, port: number, protocol: string, security: string): Promise<Check> => {
    const response = await fetch(`${service?.url}/v1/check?host=${host}&port=${port}&protocol=${protocol}&security=${security}&fresh=true`);
    assert.equal(response.status, 200, await response.clone().text());
    return checkSchema.parse(await response.json());
  };

  const assertGood = (result: Check) => {
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.equal(result.address, GOOD);
    assert.ok(result.capabilities.length > 0);
    assert.ok(result.authMechanisms.includes('PLAIN'), `mechanisms: ${result.authMechanisms.join(' ')}`);
    assert.equal(result.tls?.authorized, true);
    assert.match(result.tls?.protocol ?? '', /^TLSv1\.[23]$/);
    assert.equal(result.tls?.certificate?.subject, 'CN=mail.dovecot.test');
    assert.equal(result.tls?.certificate?.issuer, 'CN=mailsettings probe test CA');
    assert.equal(result.tls?.certificate?.hostnameMatches, true);
    assert.ok(result.tls?.certificate?.subjectAltNames.includes('DNS:mail.dovecot.test'));
    assert.ok((result.tls?.certificate?.daysLeft ?? 0) > 14);
    assert.deepEqual(result.warnings, []);
  };

  it('IMAP on 993 (implicit TLS)', async () => {
    const result = await check('mail.dovecot.test', 993, 'imap', 'tls');
    assertGood(result);
    assert.match(result.greeting, /^\* OK .*Dovecot test ready/);
    assert.ok(result.capabilities.includes('IMAP4REV1'));
    assert.deepEqual(result.authMechanisms, ['PLAIN', 'LOGIN']);
  });

  it('IMAP on 143 with STARTTLS (LOGINDISABLED before TLS, AUTH= after)', async () => {
    const result = await check('mail.dovecot.test', 143, 'imap', 'starttls');
    assertGood(result);
    assert.equal(result.starttls, true);
    assert.ok(!result.capabilities.includes('LOGINDISABLED'));
  });

  it('POP3 on 995 (implicit TLS)', async () => {
    const result = await check('mail.dovecot.test', 995, 'pop3', 'tls');
    assertGood(result);
    assert.match(result.greeting, /^\+OK Dovecot test ready/);
  });

  it('POP3 on 110 with STLS', async () => {
    const result = await check('mail.dovecot.test', 110, 'pop3', 'starttls');
    assertGood(result);
    assert.equal(result.starttls, true);
  });

  it('submission on 465 (implicit TLS)', async () => {
    const result = await check('mail.dovecot.test', 465, 'smtp', 'tls');
    assertGood(result);
    assert.match(result.greeting, /^220 mail\.dovecot\.test/);
  });

  it('submission on 587 with STARTTLS', async () => {
    const result = await check('mail.dovecot.test', 587, 'smtp', 'starttls');
    assertGood(result);
    assert.equal(result.starttls, true);
  });

  it('a self-signed certificate: ok false, certificate_untrusted', async () => {
    const result = await check('selfsigned.dovecot.test', 993, 'imap', 'tls');
    assert.equal(result.ok, false);
    assert.equal(result.error?.code, 'certificate_untrusted');
    assert.equal(result.tls?.certificate?.subject, 'CN=selfsigned.dovecot.test');
  });

  it('an expired certificate: ok false, certificate_expired', async () => {
    const result = await check('expired.dovecot.test', 587, 'smtp', 'starttls');
    assert.equal(result.ok, false);
    assert.equal(result.error?.code, 'certificate_expired');
    assert.ok((result.tls?.certificate?.daysLeft ?? 0) < 0);
  });

  it('port 22 is refused with 400 invalid_input', async () => {
    const response = await fetch(`${service?.url}/v1/check?host=mail.dovecot.test&port=22&protocol=imap&security=tls`);
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'invalid_input');
  });

  it('a host resolving to a refused address is never contacted', async () => {
    const result = await check('blocked.dovecot.test', 993, 'imap', 'tls');
    assert.equal(result.ok, false);
    assert.equal(result.error?.code, 'forbidden_target');
    // Security: the refused (internal) address is not disclosed.
    assert.equal(result.address, null);
    assert.ok(!JSON.stringify(result).includes(REFUSED));
    assert.equal(refusedConnections, 0);
  });

  it('a domain with no autoconfig, SRV or MX but reachable servers gets guessed settings within a second', async () => {
    const started = performance.now();
    const response = await fetch(`${service?.url}/v1/lookup?email=jane@guess.test`);
    const ms = performance.now() - started;
    assert.equal(response.status, 200, await response.clone().text());
    const body = lookupResultSchema.parse(await response.json());
    const guess = body.sources.find((source) => source.name === 'guess');
    assert.equal(guess?.outcome, 'found');
    assert.ok(body.sources.filter((source) => source.name !== 'guess').every((source) => source.outcome !== 'found'));
    const summary = (servers: typeof body.incoming) => servers.map((server) => `${server.protocol}:${server.host}:${server.port}:${server.security}`);
    assert.deepEqual(summary(body.incoming), [
      'imap:imap.guess.test:993:tls',
      'imap:imap.guess.test:143:starttls',
      'pop3:pop3.guess.test:995:tls',
      'pop3:pop3.guess.test:110:starttls',
    ]);
    assert.deepEqual(summary(body.outgoing), ['smtp:smtp.guess.test:465:tls', 'smtp:smtp.guess.test:587:starttls']);
    assert.equal(body.recommended, 'imap');
    assert.equal(body.incoming[0]?.recommended, true);
    assert.equal(body.incoming[0]?.username, 'jane@guess.test');
    assert.ok(body.incoming.every((server) => server.trusted && server.source.startsWith('guess:')));
    assert.ok(body.incoming[0]?.authentication.includes('password-cleartext'));
    assert.ok(ms < 1_000, `guessing took ${Math.round(ms)} ms`);
  });

  it('lookup?check=true shows a passing check on every server', async () => {
    const response = await fetch(`${service?.url}/v1/lookup?domain=dovecot.test&check=true`);
    assert.equal(response.status, 200);
    const body = lookupResultSchema.parse(await response.json());
    const servers = [...body.incoming, ...body.outgoing];
    assert.equal(servers.length, 6);
    for (const server of servers) {
      assert.equal(server.check?.ok, true, `${server.protocol}:${server.port} ${JSON.stringify(server.check?.error)}`);
      assert.equal(server.check?.port, server.port);
    }
  });
});
