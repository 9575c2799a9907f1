import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lookupResultSchema, type LookupResult } from '../../src/api/schemas.js';
import { loadProviderDb } from '../../src/provider-db/provider-db.js';
import { autoconfigXml, autodiscoverXml, paccJson } from '../helpers/autoconfig-docs.js';
import { paccTxtValue } from '../../src/formats/pacc-json.js';
import { dnsmasqAvailable, startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq.js';
import { startHttp, startHttps, startSilent, type SilentServer, type Started } from '../helpers/servers.js';
import { startService, type RunningService } from '../helpers/service-process.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

// Loopback world of this file: dnsmasq on 127.0.1.53:5353; autoconfig web server 127.0.1.30
// (:443, :80); ISPDB 127.0.1.31:443; a host that never answers 127.0.1.32:443; the service process
// on 127.0.1.6; 127.0.2.202 is outside PROBE_ALLOW_CIDRS and its listeners count connections.
const WEB = '127.0.1.30';
const ISPDB = '127.0.1.31';
const HANG = '127.0.1.32';
/** Plain HTTP only: a failed certificate check on 443 would (rightly) refuse the http answer. */
const PLAIN_ONLY = '127.0.1.33';
const REFUSED = '127.0.2.202';
const HTTP_TIMEOUT_MS = 1000;

// A shipped provider recognised by its MX host suffix (Google Workspace, Microsoft 365 …).
const withSuffix = (await loadProviderDb()).all().find((provider) => provider.mxSuffixes.length > 0);
const mxProvider = { id: withSuffix?.id ?? '', suffix: withSuffix?.mxSuffixes[0] ?? '' };

describe('discovery end to end: real dnsmasq, real service process', { skip: !dnsmasqAvailable() && 'needs dnsmasq and root' }, () => {
  let ca: TestCa;
  let dnsmasq: Dnsmasq;
  let service: RunningService | undefined;
  let workDir = '';
  const servers: Started<unknown>[] = [];
  let refused443: SilentServer;
  let refused80: SilentServer;
  let hang: SilentServer;
  const seen: string[] = [];

  before(async () => {
    ca = createTestCa('mailsettings e2e CA');
    workDir = mkdtempSync(join(tmpdir(), 'mailsettings-e2e-'));
    const caFile = join(workDir, 'ca.pem');
    writeFileSync(caFile, ca.cert);

    const webNames = [
      'autoconfig.ac.e2e.test', 'wk.e2e.test', 'autoconfig.mail.hoster.e2e.test',
      'autodiscover.ad.e2e.test', 'ua-auto-config.pacc.e2e.test', 'ua-auto-config.forged.e2e.test', 'jmap.e2e.test',
    ];
    const pacc = paccJson('pacc.e2e.test');
    dnsmasq = await startDnsmasq('127.0.1.53', 5353, {
      local: ['e2e.test'],
      hosts: {
        ...Object.fromEntries(webNames.map((name) => [name, WEB])),
        'autoconfig.http.e2e.test': PLAIN_ONLY,
        'ispdb.e2e.test': ISPDB,
        'autoconfig.hang.e2e.test': HANG,
        'autoconfig.blocked.e2e.test': REFUSED,
        'blocked.e2e.test': REFUSED,
      },
      txt: [
        ['_ua-auto-config.pacc.e2e.test', paccTxtValue(Buffer.from(pacc))],
        // A digest of other bytes: the document served for forged.e2e.test does not match it.
        ['_ua-auto-config.forged.e2e.test', paccTxtValue(Buffer.from(paccJson('elsewhere.test')))],
      ],
      srv: [
        ['_submission._tcp.sub465.e2e.test', 'smtp.sub465.e2e.test', 465, 0, 0],
        ['_imap._tcp.sub465.e2e.test', 'imap.sub465.e2e.test', 993, 0, 0],
        ['_imaps._tcp.srv.e2e.test', 'imap.srv.e2e.test', 993, 0, 0],
        ['_imap._tcp.srv.e2e.test', 'imap.srv.e2e.test', 143, 0, 0],
        ['_submissions._tcp.srv.e2e.test', 'smtp.srv.e2e.test', 465, 0, 0],
        ['_pop3s._tcp.srv.e2e.test'],
        ['_imaps._tcp.hang.e2e.test', 'imap.hang.e2e.test', 993, 0, 0],
      ],
      mx: [
        ['mx.e2e.test', 'mx1.mail.hoster.e2e.test', 10],
        ['mx.e2e.test', 'mx2.elsewhere.e2e.test', 20],
        ...(mxProvider.suffix ? [['mxprov.e2e.test', `aspmx.${mxProvider.suffix}`, 1] as [string, string, number]] : []),
      ],
    });

    const web: http.RequestListener = (request, response) => {
      const host = (request.headers.host ?? '').toLowerCase();
      const path = (request.url ?? '/').split('?')[0];
      seen.push(`${host}${request.url}`);
      if (host === 'autoconfig.ac.e2e.test' && path === '/mail/config-v1.1.xml') return response.end(autoconfigXml('ac.e2e.test'));
      if (host === 'wk.e2e.test' && path === '/.well-known/autoconfig/mail/config-v1.1.xml') return response.end(autoconfigXml('wk.e2e.test'));
      if (host === 'autoconfig.mail.hoster.e2e.test' && path === '/mail/config-v1.1.xml') return response.end(autoconfigXml('hoster.e2e.test'));
      if (host === 'autoconfig.http.e2e.test' && path === '/mail/config-v1.1.xml') return response.end(autoconfigXml('http.e2e.test'));
      if (host === 'autodiscover.ad.e2e.test' && path === '/autodiscover/autodiscover.xml' && request.method === 'POST') {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          seen.push(`POST ${host}${path} ${body.includes('<EMailAddress>ada@ad.e2e.test</EMailAddress>') ? 'with the address' : 'without it'}`);
          response.end(autodiscoverXml('ad.e2e.test'));
        });
        return;
      }
      if (path === '/.well-known/user-agent-configuration.json' && (host === 'ua-auto-config.pacc.e2e.test' || host === 'ua-auto-config.forged.e2e.test')) {
        return response.end(pacc);
      }
      if (host === 'jmap.e2e.test' && path === '/.well-known/jmap') {
        response.writeHead(301, { location: 'https://api.jmap.e2e.test/session' });
        return response.end();
      }
      response.writeHead(404);
      response.end();
    };
    servers.push(await startHttps(WEB, ca.issue(webNames), web));
    servers.push(await startHttp(WEB, web));
    servers.push(await startHttp(PLAIN_ONLY, web));
    servers.push(
      await startHttps(ISPDB, ca.issue(['ispdb.e2e.test']), (request, response) => {
        if (request.url === '/v1.1/isp.e2e.test') return response.end(autoconfigXml('isp.e2e.test'));
        response.writeHead(404);
        response.end();
      }),
    );
    hang = await startSilent(HANG, 443);
    refused443 = await startSilent(REFUSED, 443);
    refused80 = await startSilent(REFUSED, 80);

    // The production path: configuration from the environment, the test CA via NODE_EXTRA_CA_CERTS.
    service = await startService({
      HOST: '127.0.1.6',
      DNS_SERVERS: dnsmasq.server,
      DNS_TIMEOUT_MS: '500',
      DNS_TRIES: '1',
      PROBE_ALLOW_CIDRS: '127.0.1.0/24',
      ISPDB_URL: 'https://ispdb.e2e.test/v1.1/',
      HTTP_TIMEOUT_MS: String(HTTP_TIMEOUT_MS),
      NODE_EXTRA_CA_CERTS: caFile,
    });
  });

  after(async () => {
    await service?.stop();
    for (const server of [...servers, hang, refused443, refused80]) await server?.stop();
    await dnsmasq?.stop();
    ca?.dispose();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  const lookup = async (query: string) => fetch(`${service?.url}/v1/lookup?${query}`);
  const found = async (query: string): Promise<LookupResult> => {
    const response = await lookup(query);
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return lookupResultSchema.parse(JSON.parse(text));
  };

  it('finds a domain that publishes only autoconfig (address sent over HTTPS only)', async () => {
    const body = await found('email=jane%40ac.e2e.test');
    assert.equal(body.incoming[0]?.host, 'imap.ac.e2e.test');
    assert.equal(body.incoming[0]?.username, 'jane@ac.e2e.test');
    assert.equal(body.incoming[0]?.source, 'autoconfig:https://autoconfig.ac.e2e.test/mail/config-v1.1.xml');
    assert.ok(seen.includes('autoconfig.ac.e2e.test/mail/config-v1.1.xml?emailaddress=jane%40ac.e2e.test'));
    const again = await found('email=joe%40ac.e2e.test');
    assert.equal(again.cached, true);
    assert.equal(again.incoming[0]?.username, 'joe@ac.e2e.test');
  });

  it('finds a domain that publishes only Exchange Autodiscover (POX), POSTing the address over HTTPS only', async () => {
    const body = await found('email=ada%40ad.e2e.test');
    assert.deepEqual(
      [...body.incoming, ...body.outgoing].map((server) => `${server.protocol}:${server.host}:${server.port}:${server.security}:${server.username}`),
      ['imap:imap.ad.e2e.test:993:tls:ada@ad.e2e.test', 'smtp:smtp.ad.e2e.test:587:starttls:ada@ad.e2e.test'],
    );
    assert.equal(body.incoming[0]?.source, 'autodiscover:https://autodiscover.ad.e2e.test/autodiscover/autodiscover.xml');
    assert.equal(body.sources.find((source) => source.name === 'autodiscover')?.outcome, 'found');
    assert.ok(seen.includes('POST autodiscover.ad.e2e.test/autodiscover/autodiscover.xml with the address'));
    assert.doesNotMatch(JSON.stringify(body.sources), /ada@/);
  });

  it('finds a domain that publishes only PACC, verified against its _ua-auto-config TXT digest', async () => {
    const body = await found('domain=pacc.e2e.test');
    assert.deepEqual(
      [...body.incoming, ...body.outgoing].map((server) => `${server.protocol}:${server.host}:${server.port}:${server.security}:${server.trusted}`),
      ['imap:imap.pacc.e2e.test:993:tls:true', 'pop3:pop.pacc.e2e.test:995:tls:true', 'smtp:smtp.pacc.e2e.test:465:tls:true'],
    );
    assert.equal(body.sources.find((source) => source.name === 'pacc')?.outcome, 'found');
  });

  it('refuses a PACC document whose digest does not match the TXT record (blocked, pacc_digest_mismatch)', async () => {
    const response = await lookup('domain=forged.e2e.test');
    assert.equal(response.status, 404);
    const body = (await response.json()) as { sources: { name: string; outcome: string; error?: string }[] };
    assert.deepEqual(
      body.sources.filter((source) => source.name === 'pacc').map((source) => [source.outcome, source.error]),
      [['blocked', 'pacc_digest_mismatch']],
    );
  });

  it('answers a JMAP-only domain with 404 and the session URL in alternatives', async () => {
    const response = await lookup('domain=jmap.e2e.test');
    assert.equal(response.status, 404);
    const body = (await response.json()) as { alternatives?: { kind: string; url: string }[] };
    assert.deepEqual(body.alternatives?.map((entry) => `${entry.kind} ${entry.url}`), ['jmap https://api.jmap.e2e.test/session']);
  });

  it('reads SRV targets on 465 and 993 as implicit TLS whatever the service label (RFC 8314)', async () => {
    const body = await found('domain=sub465.e2e.test');
    assert.deepEqual(
      [...body.incoming, ...body.outgoing].map((server) => `${server.protocol}:${server.port}:${server.security}`),
      ['imap:993:tls', 'smtp:465:tls'],
    );
  });

  it('finds a domain that publishes only the well-known location', async () => {
    const body = await found('domain=wk.e2e.test');
    assert.equal(body.incoming[0]?.source, 'autoconfig:https://wk.e2e.test/.well-known/autoconfig/mail/config-v1.1.xml');
  });

  it('finds a domain that has only an ISPDB entry', async () => {
    const body = await found('domain=isp.e2e.test');
    assert.equal(body.incoming[0]?.source, 'ispdb:https://ispdb.e2e.test/v1.1/isp.e2e.test');
  });

  it('finds a domain that publishes only SRV records, tls before starttls, "." dropped', async () => {
    const body = await found('domain=srv.e2e.test');
    assert.deepEqual(
      body.incoming.map((server) => `${server.protocol}:${server.port}:${server.security}`),
      ['imap:993:tls', 'imap:143:starttls'],
    );
    assert.equal(body.outgoing[0]?.source, 'srv:_submissions._tcp.srv.e2e.test');
  });

  it('finds a domain whose best MX is at a known provider', { skip: !mxProvider.suffix && 'no provider with an MX suffix' }, async () => {
    const body = await found('domain=mxprov.e2e.test');
    assert.equal(body.provider?.id, mxProvider.id);
    assert.equal(body.incoming[0]?.source, `mx:aspmx.${mxProvider.suffix}`);
  });

  it("finds a domain through the autoconfig of its best MX host's parent domain", async () => {
    const body = await found('domain=mx.e2e.test');
    assert.equal(body.incoming[0]?.host, 'imap.hoster.e2e.test');
    assert.equal(body.incoming[0]?.source, 'mx:mx1.mail.hoster.e2e.test');
  });

  it('falls back to plain-HTTP autoconfig, marked untrusted', async () => {
    const body = await found('email=ann%40http.e2e.test');
    assert.equal(body.incoming[0]?.trusted, false);
    assert.ok(!seen.some((url) => url.startsWith('autoconfig.http.e2e.test') && url.includes('ann')));
  });

  it('answers within the HTTP timeout when the autoconfig host hangs', async () => {
    const started = performance.now();
    const body = await found('domain=hang.e2e.test');
    const elapsed = performance.now() - started;
    assert.ok(elapsed < HTTP_TIMEOUT_MS + 1000, `took ${elapsed} ms`);
    assert.equal(body.incoming[0]?.source, 'srv:_imaps._tcp.hang.e2e.test');
    assert.ok(hang.connections >= 1);
  });

  it('reports hosts that resolve to a refused address as blocked and never connects to them', async () => {
    const response = await lookup('domain=blocked.e2e.test');
    assert.equal(response.status, 404);
    const body = (await response.json()) as { sources: { name: string; outcome: string }[] };
    const outcome = (name: string) => body.sources.find((source) => source.name === name)?.outcome;
    // autoconfig.blocked.e2e.test over https and http, and blocked.e2e.test's well-known location.
    assert.deepEqual([outcome('autoconfig'), outcome('autoconfig-well-known'), outcome('http-autoconfig')], ['blocked', 'blocked', 'blocked']);
    // Read once the lookup has answered: every connection it made had been accepted by then.
    assert.equal(refused443.connections + refused80.connections, 0);
  });

  it('answers 404 for a domain with nothing published', async () => {
    const response = await lookup('domain=nothing.e2e.test');
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'not_found');
  });
});
