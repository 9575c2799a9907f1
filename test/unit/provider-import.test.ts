import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { importAutoconfigXml, normaliseProviderId } from '../../src/provider-db/import.js';
import { readProviderDir } from '../../src/provider-db/provider-db.js';
import { providerSchema } from '../../src/provider-db/schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = path.join(ROOT, 'test/fixtures/autoconfig-import');
const fixture = (name: string) => readFile(path.join(FIXTURES, name), 'utf8');
const TODAY = '2026-01-02';

const wrap = (body: string, id = 'inline.test') =>
  `<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="${id}"><domain>inline.test</domain>${body}</emailProvider></clientConfig>`;
const server = (kind: 'incoming' | 'outgoing', type: string, host: string, port: number, socket: string, username = '%EMAILADDRESS%') =>
  `<${kind}Server type="${type}"><hostname>${host}</hostname><port>${port}</port><socketType>${socket}</socketType>` +
  `<username>${username}</username><authentication>password-cleartext</authentication></${kind}Server>`;

describe('importAutoconfigXml', () => {
  it('maps an ISP file: kebab-case id, name, domains, IMAP first and TLS before STARTTLS, https documentation, lastVerified', async () => {
    const result = importAutoconfigXml(await fixture('normal-isp.xml'), { today: TODAY });
    assert.ok(result.ok, JSON.stringify(result));
    const { provider, warnings } = result;
    // Its IMAP server offers OAuth2, and a 1.1 file cannot say with which issuer: that is for a person to add.
    assert.deepEqual(warnings, ['a server lists oauth2, but the file has no oauth2 details (issuer, endpoints, scopes)']);
    assert.equal(provider.id, 'example-isp-test');
    assert.equal(provider.name, 'Example ISP Mail');
    assert.deepEqual(provider.domains, ['example-isp.test']);
    assert.deepEqual(provider.mxSuffixes, []);
    assert.deepEqual(
      provider.incoming.map((s) => `${s.protocol} ${s.host}:${s.port} ${s.security}`),
      ['imap imap.example-isp.test:993 tls', 'imap imap.example-isp.test:143 starttls', 'pop3 pop.example-isp.test:995 tls'],
    );
    assert.deepEqual(provider.incoming[0]?.authentication, ['password-cleartext', 'oauth2']);
    assert.deepEqual(
      provider.outgoing.map((s) => `${s.host}:${s.port} ${s.security}`),
      ['smtp.example-isp.test:465 tls', 'smtp.example-isp.test:587 starttls'],
    );
    assert.deepEqual(provider.documentation, ['https://help.example-isp.test/mail/setup']);
    assert.deepEqual(provider.hints, []);
    assert.equal(provider.lastVerified, TODAY);
    assert.ok(providerSchema.safeParse(provider).success);
  });

  it('defaults lastVerified to today (UTC)', async () => {
    const result = importAutoconfigXml(await fixture('normal-isp.xml'));
    assert.ok(result.ok);
    assert.equal(result.provider.lastVerified, new Date().toISOString().slice(0, 10));
  });

  it('keeps every domain once, lower-cased, and a plaintext server last with a warning', async () => {
    const result = importAutoconfigXml(await fixture('multi-domain.xml'), { today: TODAY });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.provider.name, 'Multi Mail & Co');
    assert.deepEqual(result.provider.domains, ['multi-mail.test', 'multi-alias.test', 'legacy-multi.test']);
    assert.deepEqual(
      result.provider.incoming.map((s) => `${s.protocol}:${s.port}:${s.security}:${s.username}`),
      ['imap:993:tls:%EMAILLOCALPART%', 'pop3:110:none:%EMAILLOCALPART%'],
    );
    assert.ok(result.warnings.some((w) => /pop3 server mail\.multi-mail\.test:110 is plaintext/.test(w)), result.warnings.join('\n'));
  });

  it('imports the valid sections of a file and reports each dropped one as a warning', async () => {
    const result = importAutoconfigXml(await fixture('invalid-server.xml'), { today: TODAY });
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.provider.incoming.map((s) => s.host), ['imap.partly-broken.test']);
    assert.deepEqual(result.provider.outgoing.map((s) => s.host), ['smtp.partly-broken.test']);
    assert.equal(result.warnings.filter((w) => w.startsWith('dropped: ')).length, 3, result.warnings.join('\n'));
    assert.ok(result.warnings.some((w) => /type "exchange" is not supported/.test(w)));
    assert.ok(result.warnings.some((w) => /invalid port/.test(w)));
    assert.ok(result.warnings.some((w) => /invalid hostname/.test(w)));
  });

  it('refuses a file with a DOCTYPE (entity expansion, external entities) before parsing it', async () => {
    const result = importAutoconfigXml(await fixture('hostile-doctype.xml'));
    assert.equal(result.ok, false);
    assert.ok(!result.ok && /doctype_refused/.test(result.errors[0] ?? ''));
  });

  it('refuses malformed XML and XML that is not an autoconfig file', () => {
    const malformed = importAutoconfigXml('<clientConfig><emailProvider id="x"><domain>x.test</emailProvider>');
    assert.ok(!malformed.ok && /malformed_xml/.test(malformed.errors.join()));
    const other = importAutoconfigXml('<?xml version="1.0"?><rss><channel/></rss>');
    assert.ok(!other.ok && /not_autoconfig/.test(other.errors.join()));
  });

  it('names the field when the result breaks the provider schema', () => {
    const unknownPlaceholder = importAutoconfigXml(wrap(server('incoming', 'imap', 'imap.inline.test', 993, 'SSL', '%REALNAME%')));
    assert.ok(!unknownPlaceholder.ok);
    assert.ok(unknownPlaceholder.errors.some((e) => /^incoming\.0\.username: unknown placeholder/.test(e)), unknownPlaceholder.errors.join('\n'));

    const noIncoming = importAutoconfigXml(wrap(server('outgoing', 'smtp', 'smtp.inline.test', 465, 'SSL')));
    assert.ok(!noIncoming.ok && noIncoming.errors.some((e) => /^incoming: /.test(e)), JSON.stringify(noIncoming));

    // The reader itself now refuses an underscore in a host name (the one host-name rule), so the section is dropped.
    const underscore = importAutoconfigXml(wrap(server('incoming', 'imap', 'imap_1.inline.test', 993, 'SSL')));
    assert.ok(!underscore.ok && underscore.errors.some((e) => /^incoming: /.test(e)), JSON.stringify(underscore));
    assert.ok(underscore.warnings.some((w) => /invalid hostname/.test(w)), JSON.stringify(underscore));
  });

  it('applies the database rules: ports must match security and plaintext alone is refused', () => {
    const wrongPort = importAutoconfigXml(wrap(server('incoming', 'imap', 'imap.inline.test', 993, 'STARTTLS')));
    assert.ok(!wrongPort.ok && wrongPort.errors.some((e) => /port 993 is tls, not starttls/.test(e)), JSON.stringify(wrongPort));
    const plaintextOnly = importAutoconfigXml(wrap(server('incoming', 'pop3', 'pop.inline.test', 110, 'plain')));
    assert.ok(!plaintextOnly.ok && plaintextOnly.errors.some((e) => /only plaintext/.test(e)), JSON.stringify(plaintextOnly));
  });

  it('takes the id from the option, the file or the first domain, normalised to kebab-case', () => {
    const body = server('incoming', 'imap', 'imap.inline.test', 993, 'SSL');
    const fromOption = importAutoconfigXml(wrap(body), { id: 'My ISP (Legacy)' });
    assert.ok(fromOption.ok && fromOption.provider.id === 'my-isp-legacy');
    const fromDomain = importAutoconfigXml(wrap(body).replace(' id="inline.test"', ''));
    assert.ok(fromDomain.ok && fromDomain.provider.id === 'inline-test' && fromDomain.provider.name === 'inline-test');
    const none = importAutoconfigXml(wrap(body), { id: '---' });
    assert.ok(!none.ok && /^id: /.test(none.errors[0] ?? ''));
    assert.equal(normaliseProviderId('Exämple.COM  Mail'), 'example-com-mail');
  });
});

describe('npm run providers:import', () => {
  const exec = promisify(execFile);
  let out: string;
  const run = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', 'scripts/providers-import.ts', ...args], { cwd: ROOT });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failure = error as { code: number; stdout: string; stderr: string };
      return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
    }
  };

  before(async () => {
    out = await mkdtemp(path.join(tmpdir(), 'providers-import-'));
  });
  after(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('imports a directory end to end into files that readProviderDir loads; the hostile file fails by name', async () => {
    const result = await run(FIXTURES, '--out', out);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /hostile-doctype\.xml: doctype_refused/);
    assert.match(result.stderr, /warning: .*invalid-server\.xml: dropped: /);
    assert.match(result.stdout, /imported 3 of 4 files/);
    assert.deepEqual((await readdir(out)).sort(), ['example-isp-test.json', 'multi-mail-test.json', 'partly-broken-test.json']);
    const providers = await readProviderDir(out);
    assert.deepEqual(providers.map((p) => p.id), ['example-isp-test', 'multi-mail-test', 'partly-broken-test']);
    assert.equal(providers[0]?.incoming[0]?.host, 'imap.example-isp.test');
  });

  it('does not overwrite an existing file without --force, and does with it', async () => {
    const file = path.join(FIXTURES, 'normal-isp.xml');
    const refused = await run(file, '--out', out);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /normal-isp\.xml: id: .*example-isp-test\.json exists; pass --force/);
    const forced = await run(file, '--out', out, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /imported 1 of 1 files/);
  });

  it('refuses a domain another provider of the output directory claims, even with --id', async () => {
    const result = await run(path.join(FIXTURES, 'normal-isp.xml'), '--out', out, '--id', 'Example Copy');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /domains: example-isp\.test is already claimed by example-isp-test\.json/);
    assert.ok(!(await readdir(out)).includes('example-copy.json'));
  });

  it('explains its usage on bad arguments', async () => {
    const result = await run('--out');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /usage: npm run providers:import/);
  });
});
