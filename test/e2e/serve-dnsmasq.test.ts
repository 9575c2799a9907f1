// Serving end to end: one service process publishes alpha.test (SERVE_DOMAINS) over its own HTTPS
// (TLS_CERT_FILE), a real dnsmasq carries exactly the records that service tells the operator to
// publish, and the discovery of a second instance, pointed at that dnsmasq and trusting the test CA,
// reads every served format back: it must find the servers the first instance serves.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { parse as parsePlist } from 'plist';
import { createChecker, createNetwork } from '../../src/app.js';
import { lookupResultSchema, type LookupResult, type Server } from '../../src/api/schemas.js';
import { publishResultSchema, type PublishResult } from '../../src/api/serve-schemas.js';
import { testConfig } from '../helpers/config.js';
import { loadProviderDb, type ProviderDb } from '../../src/provider-db/provider-db.js';
import { createDefaultSources, createHttpClient } from '../../src/sources/index.js';
import { buildTestApp } from '../helpers/app.js';
import { dnsmasqAvailable, startDnsmasq, type Dnsmasq, type DnsmasqRecords } from '../helpers/dnsmasq.js';
import { startService, type RunningService } from '../helpers/service-process.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

// Loopback world of this file (127.0.20.0/24 only): the serving process on 127.0.20.10:443 (HTTPS,
// certificate of the test CA for every name below), dnsmasq on 127.0.20.53:5420.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVING = '127.0.20.10';
const DNS = { address: '127.0.20.53', port: 5420 };
const SERVICE_HOST = 'settings.serve.test';
const NAMES = [SERVICE_HOST, 'alpha.test', 'autoconfig.alpha.test', 'autodiscover.alpha.test', 'ua-auto-config.alpha.test'];
const EMAIL = 'jane@alpha.test';

/** What a lookup must agree on, one line per server. */
const shape = (server: Server) => `${server.protocol} ${server.host}:${server.port} ${server.security} user=${server.username} auth=${server.authentication.join('+')}`;
const servers = (result: LookupResult) => [...result.incoming, ...result.outgoing].map(shape);

/** The records of GET /v1/publish as dnsmasq options: exactly what the operator is told to add. */
function dnsmasqRecords(published: PublishResult): DnsmasqRecords {
  const records: DnsmasqRecords = {
    local: ['alpha.test', 'serve.test'],
    // The service's own name and the apex (whose website routes the well-known path to the service).
    hosts: { [SERVICE_HOST]: SERVING, 'alpha.test': SERVING },
    cname: [],
    srv: [],
    txt: [],
  };
  for (const record of published.records) {
    if (record.type === 'CNAME') records.cname?.push([record.name, record.target]);
    else if (record.type === 'TXT') records.txt?.push([record.name, record.text]);
    else records.srv?.push(record.target === '.' ? [record.name] : [record.name, record.target, record.port, record.priority, record.weight]);
  }
  return records;
}

describe('serving end to end: a second instance discovers alpha.test from the first through real DNS and HTTPS', { skip: !dnsmasqAvailable() && 'needs dnsmasq and root', timeout: 180_000 }, () => {
  let ca: TestCa;
  let workDir = '';
  let service: RunningService | undefined;
  let dnsmasq: Dnsmasq;
  let published: PublishResult;
  let reference: LookupResult;
  let builtIn: ProviderDb;
  const apps: FastifyInstance[] = [];

  /** One HTTPS request to the serving process, as a client that resolved `name` to it would make it. */
  const fetchServing = (name: string, path: string, host = name): Promise<{ status: number; type: string; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const request = https.request({ host: SERVING, port: 443, servername: name, path, ca: ca.cert, headers: { host } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body: Buffer.concat(chunks) }));
      });
      request.on('error', reject);
      request.end();
    });

  before(async () => {
    ca = createTestCa('serving e2e CA');
    workDir = mkdtempSync(join(tmpdir(), 'mailsettings-serve-e2e-'));
    const tls = ca.issue(NAMES);
    const signing = ca.issue([SERVICE_HOST], { extendedKeyUsage: 'emailProtection' });
    const file = (name: string, text: string) => {
      writeFileSync(join(workDir, name), text);
      return join(workDir, name);
    };
    file('ca.pem', ca.cert);
    // The production path: configuration from the environment, HTTPS terminated by the service itself.
    service = await startService({
      HOST: SERVING,
      PORT: '443',
      LOG_LEVEL: 'info',
      PROVIDERS_DIR: join(ROOT, 'test/fixtures/providers-serve'),
      SERVE_DOMAINS: 'alpha.test',
      SERVE_HOSTNAME: SERVICE_HOST,
      TLS_CERT_FILE: file('tls.pem', tls.cert),
      TLS_KEY_FILE: file('tls.key', tls.key),
      MOBILECONFIG_SIGN_CERT: file('signing.pem', signing.cert),
      MOBILECONFIG_SIGN_KEY: file('signing.key', signing.key),
      // It never resolves anything for what it serves; a closed port keeps it off the system resolver.
      DNS_SERVERS: `${SERVING}:9`,
      ISPDB_URLS: '',
    });
    assert.equal(service.url, `https://${SERVING}:443`);

    const publish = await fetchServing(SERVICE_HOST, '/v1/publish?domain=alpha.test');
    assert.equal(publish.status, 200, publish.body.toString());
    published = publishResultSchema.parse(JSON.parse(publish.body.toString()));
    dnsmasq = await startDnsmasq(DNS.address, DNS.port, dnsmasqRecords(published));
    const own = await fetchServing(SERVICE_HOST, `/v1/lookup?email=${encodeURIComponent(EMAIL)}`);
    reference = lookupResultSchema.parse(JSON.parse(own.body.toString()));
    assert.equal(reference.incoming[0]?.source, 'provider-db:alpha-mail');
    builtIn = await loadProviderDb();
  });

  after(async () => {
    for (const app of apps) await app.close();
    await service?.stop();
    await dnsmasq?.stop();
    ca?.dispose();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  /**
   * A second instance whose discovery asks dnsmasq and trusts the test CA, with only the named
   * sources (all of them when none is named); its own provider database does not know alpha.test.
   */
  async function secondInstance(only?: string): Promise<FastifyInstance> {
    const overrides = { DNS_SERVERS: `${DNS.address}:${DNS.port}`, DNS_TIMEOUT_MS: '1000', PROBE_ALLOW_CIDRS: '127.0.20.0/24', HTTP_TIMEOUT_MS: '5000' };
    const config = testConfig({ ISPDB_URL: '', ...overrides });
    const network = createNetwork(config);
    const http = createHttpClient(network, { timeoutMs: config.HTTP_TIMEOUT_MS, ispdbUrls: config.ISPDB_URLS, ca: ca.cert });
    const all = createDefaultSources({ providerDb: builtIn, ispdbUrls: config.ISPDB_URLS, guessTimeoutMs: 3_000, network, http, prober: createChecker(config, network) });
    const app = await buildTestApp(overrides, { providerDb: builtIn, network, httpCa: ca.cert, sources: only ? all.filter((source) => source.name === only) : all });
    apps.push(app);
    return app;
  }

  const discover = async (app: FastifyInstance): Promise<LookupResult> => {
    const response = await app.inject({ method: 'GET', url: `/v1/lookup?email=${encodeURIComponent(EMAIL)}` });
    assert.equal(response.statusCode, 200, `${response.body}\n${dnsmasq.log()}\n${service?.output.all().slice(-2000)}`);
    return lookupResultSchema.parse(response.json());
  };

  const formats: { source: string; url: string; keep?: (server: Server) => boolean }[] = [
    { source: 'autoconfig', url: 'https://autoconfig.alpha.test/mail/config-v1.1.xml' },
    { source: 'autoconfig-well-known', url: 'https://alpha.test/.well-known/autoconfig/mail/config-v1.1.xml' },
    { source: 'autodiscover', url: 'https://autodiscover.alpha.test/autodiscover/autodiscover.xml' },
    // PACC describes implicit TLS on the registered ports only (draft-ietf-mailmaint-pacc-02).
    {
      source: 'pacc',
      url: 'https://ua-auto-config.alpha.test/.well-known/user-agent-configuration.json',
      keep: (server) => server.security === 'tls' && server.port === { imap: 993, pop3: 995, smtp: 465 }[server.protocol],
    },
  ];

  for (const format of formats) {
    it(`${format.source}: the second instance finds the servers the first one serves`, async () => {
      const answer = await discover(await secondInstance(format.source));
      const report = answer.sources.find((source) => source.name === format.source);
      assert.equal(report?.outcome, 'found', JSON.stringify(answer.sources));
      assert.equal(report?.url, format.url);
      const expected = [...reference.incoming, ...reference.outgoing].filter(format.keep ?? (() => true)).map(shape);
      assert.ok(expected.length >= 3);
      assert.deepEqual(servers(answer), expected);
      for (const server of [...answer.incoming, ...answer.outgoing]) assert.equal(server.trusted, true);
    });
  }

  it('srv: the published RFC 6186 records give the same encrypted servers', async () => {
    const answer = await discover(await secondInstance('srv'));
    assert.equal(answer.sources.find((source) => source.name === 'srv')?.outcome, 'found');
    assert.deepEqual(servers(answer), servers(reference));
  });

  it('all sources: the full discovery answers from the served autoconfig, without the first instance listing the domain for it', async () => {
    const answer = await discover(await secondInstance());
    assert.deepEqual(servers(answer), servers(reference));
    assert.equal(answer.incoming[0]?.source, 'autoconfig:https://autoconfig.alpha.test/mail/config-v1.1.xml');
    assert.deepEqual(
      answer.instructions.map((entry) => [entry.kind, entry.url]),
      [['enable', 'https://help.alpha.test/imap'], ['documentation', 'https://help.alpha.test/mail']],
    );
  });

  it('the profile URL of the first instance\'s answer gives a signed profile that openssl verifies against the test CA', async () => {
    const url = new URL(reference.autoconfigure?.mobileconfigUrl ?? '');
    assert.equal(url.hostname, SERVICE_HOST);
    const profile = await fetchServing(SERVICE_HOST, `${url.pathname}${url.search}`);
    assert.equal(profile.status, 200);
    assert.equal(profile.type, 'application/x-apple-aspen-config');
    writeFileSync(join(workDir, 'profile.der'), profile.body);
    const content = execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', join(workDir, 'profile.der'), '-CAfile', join(workDir, 'ca.pem')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
    const parsed = parsePlist(content) as { PayloadContent: Record<string, unknown>[] };
    const account = parsed.PayloadContent[0] ?? {};
    const best = reference.incoming[0];
    assert.deepEqual(
      [account['IncomingMailServerHostName'], account['IncomingMailServerPortNumber'], account['IncomingMailServerUsername'], account['EmailAddress']],
      [best?.host, best?.port, best?.username, EMAIL],
    );
  });

  it('the Host header decides: another domain behind the same certificate gets 404 over HTTPS', async () => {
    const other = await fetchServing('autoconfig.alpha.test', '/mail/config-v1.1.xml', 'autoconfig.gamma.test');
    assert.equal(other.status, 404);
    assert.equal(JSON.parse(other.body.toString()).error.code, 'not_found');
  });
});
