import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { type EnvName } from '../../src/config/env.js';
import { testConfig } from '../helpers/config.js';
import { lookupResultSchema, type LookupResult } from '../../src/api/schemas.js';
import type { ProviderDb } from '../../src/provider-db/provider-db.js';
import { loadTestProviderDb } from '../helpers/app.js';
import { autoconfigXml, ENTITY_BOMB } from '../helpers/autoconfig-docs.js';
import { TestDnsServer, type ZoneRecord } from '../helpers/dns-server.js';
import { closedEvent, startHttp, startHttps, startSilent, streamBytes, type SilentServer, type Started } from '../helpers/servers.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

// Loopback world of this file: DNS 127.0.1.3; HTTPS autoconfig 127.0.1.20 (:443 and :80), ISPDB
// 127.0.1.21:443, a host that accepts and never answers 127.0.1.22, and 127.0.2.201 as a refused
// address (outside PROBE_ALLOW_CIDRS) whose listeners count connections.
const DNS = '127.0.1.3';
const WEB = '127.0.1.20';
const ISPDB = '127.0.1.21';
const HANG = '127.0.1.22';
const PLAIN_ONLY = '127.0.1.23';
const REFUSED = '127.0.2.201';
const HTTP_TIMEOUT_MS = 1000;

const A = (address: string): ZoneRecord[] => [{ type: 'A', address, ttl: 120 }];
const SRV_IMAPS = (target: string): ZoneRecord[] => [{ type: 'SRV', target, port: 993, priority: 0, weight: 0 }];

describe('discovery end to end in-process (dns2 + HTTPS on loopback)', () => {
  let ca: TestCa;
  let providerDb: ProviderDb;
  const dns = new TestDnsServer(DNS);
  const started: Started<unknown>[] = [];
  let hang: SilentServer;
  let refused443: SilentServer;
  let refused80: SilentServer;
  const seenUrls: string[] = [];
  // The crowd domain's autoconfig answer waits for the test's go (see the crowd test).
  let crowdAsked: () => void = () => {};
  const crowdFetched = new Promise<void>((resolve) => (crowdAsked = resolve));
  let openCrowdGate: () => void = () => {};
  const crowdGate = new Promise<void>((resolve) => (openCrowdGate = resolve));
  const apps: FastifyInstance[] = [];
  let app: FastifyInstance;
  let mxProvider: { id: string; suffix: string };

  /** `beforeReady` may add hooks, e.g. to observe requests (the app is not ready yet). */
  const makeApp = async (overrides: Partial<Record<EnvName, string>> = {}, beforeReady: (instance: FastifyInstance) => void = () => {}) => {
    const config = testConfig({
      DNS_SERVERS: dns.server,
      DNS_TIMEOUT_MS: '300',
      DNS_TRIES: '1',
      PROBE_ALLOW_CIDRS: '127.0.1.0/24',
      ISPDB_URL: 'https://ispdb.d.test/v1.1/',
      HTTP_TIMEOUT_MS: String(HTTP_TIMEOUT_MS),
      LOOKUP_TIMEOUT_MS: '4000',
      // JMAP beside an autoconfig answer is best-effort within this grace; on a loaded test machine 100 ms is too tight.
      DISCOVERY_COMPANION_GRACE_MS: '1500',
      ...overrides,
    });
    const instance = await buildApp(config, { providerDb, httpCa: ca.cert });
    beforeReady(instance);
    await instance.ready();
    apps.push(instance);
    return instance;
  };

  before(async () => {
    ca = createTestCa();
    providerDb = await loadTestProviderDb();
    const withSuffix = providerDb.all().find((provider) => provider.mxSuffixes.length > 0);
    assert.ok(withSuffix);
    mxProvider = { id: withSuffix.id, suffix: withSuffix.mxSuffixes[0] ?? '' };

    const webNames = ['autoconfig.stale.d.test', 'jmaponly.d.test', 'both.d.test', 'autoconfig.both.d.test', 'autoconfig.v12.d.test', 'autoconfig.half.d.test', 'autoconfig.ac.d.test', 'autoconfig.crowd.d.test', 'wk.d.test', 'autoconfig.mail.hoster.test', 'autoconfig.big.d.test', 'autoconfig.bomb.d.test', 'autoconfig.bad.d.test', 'autoconfig.guide.d.test'];
    const leaf = ca.issue(webNames);
    for (const name of webNames) dns.set(name, A(WEB));
    // Plain HTTP only: nothing answers TLS there (a failed certificate check would refuse the http answer).
    dns.set('autoconfig.http.d.test', A(PLAIN_ONLY));
    dns.set('ispdb.d.test', A(ISPDB));
    dns.set('autoconfig.hang.d.test', A(HANG));
    dns.set('autoconfig.hang2.d.test', A(HANG));
    dns.set('autoconfig.hang3.d.test', A(HANG));
    dns.set('autoconfig.blocked.d.test', A(REFUSED));
    dns.set('blocked.d.test', A(REFUSED));
    dns.set('_imaps._tcp.srv.d.test', SRV_IMAPS('imap.srv.d.test'));
    dns.set('_imaps._tcp.half.d.test', SRV_IMAPS('imap.srv-half.d.test'));
    dns.set('api.jmaponly.d.test', A(REFUSED));
    dns.set('stale.d.test', [{ type: 'MX', exchange: `aspmx.${mxProvider.suffix}`, priority: 1 }]);
    dns.set('m365.d.test', [{ type: 'MX', exchange: 'm365-d-test.mail.protection.outlook.com', priority: 0 }]);
    dns.set('_submission._tcp.half.d.test', [{ type: 'SRV', target: 'smtp.srv-half.d.test', port: 465, priority: 0, weight: 0 }]);
    dns.set('_submission._tcp.srv.d.test', [{ type: 'SRV', target: 'smtp.srv.d.test', port: 587, priority: 0, weight: 0 }]);
    dns.set('_pop3s._tcp.srv.d.test', [{ type: 'SRV', target: '.', port: 0, priority: 0, weight: 0 }]);
    for (const domain of ['hang.d.test', 'big.d.test', 'bomb.d.test', 'hang2.d.test']) dns.set(`_imaps._tcp.${domain}`, SRV_IMAPS(`imap.${domain}`));
    dns.set('mxprov.d.test', [{ type: 'MX', exchange: `aspmx.${mxProvider.suffix}`, priority: 1 }, { type: 'MX', exchange: 'backup.d.test', priority: 10 }]);
    dns.set('mxhost.d.test', [{ type: 'MX', exchange: 'mx1.mail.hoster.test', priority: 10 }]);
    dns.set('servfail.d.test', 'servfail');
    dns.set('*.servfail.d.test', 'servfail');
    dns.set('dnstimeout.d.test', 'timeout');
    dns.set('*.dnstimeout.d.test', 'timeout');
    await dns.start();

    const web: http.RequestListener = (request, response) => {
      const host = (request.headers.host ?? '').toLowerCase();
      const path = (request.url ?? '/').split('?')[0];
      seenUrls.push(`${host}${request.url}`);
      const xml = (body: string) => {
        response.setHeader('content-type', 'application/xml');
        response.end(body);
      };
      if (host === 'autoconfig.ac.d.test' && path === '/mail/config-v1.1.xml') return xml(autoconfigXml('ac.d.test'));
      if ((host === 'jmaponly.d.test' || host === 'both.d.test') && path === '/.well-known/jmap') {
        response.writeHead(307, { location: `https://api.${host}/jmap/session` });
        return response.end();
      }
      if (host === 'autoconfig.both.d.test' && path === '/mail/config-v1.1.xml') return xml(autoconfigXml('both.d.test'));
      if (host === 'autoconfig.stale.d.test' && path === '/mail/config-v1.1.xml') return xml(autoconfigXml('stale.d.test'));
      if (host === 'autoconfig.v12.d.test' && path === '/mail/config-v1.1.xml') {
        return xml(autoconfigXml('v12.d.test').replace('<clientConfig version="1.1">', '<clientConfig version="1.2">').replace(
          '<incomingServer type="imap">',
          '<incomingServer type="jmap"><url>https://jmap.v12.d.test/session</url><authentication>OAuth2</authentication></incomingServer><incomingServer type="imap">',
        ));
      }
      // Its IMAP section is invalid (an undefined socketType), so only its SMTP section is usable.
      if (host === 'autoconfig.half.d.test' && path === '/mail/config-v1.1.xml') return xml(autoconfigXml('half.d.test').replace('<socketType>SSL</socketType>', '<socketType>TLS</socketType>'));
      if (host === 'autoconfig.crowd.d.test' && path === '/mail/config-v1.1.xml') {
        crowdAsked();
        return void crowdGate.then(() => xml(autoconfigXml('crowd.d.test')));
      }
      if (host === 'wk.d.test' && path === '/.well-known/autoconfig/mail/config-v1.1.xml') return xml(autoconfigXml('wk.d.test'));
      if (host === 'autoconfig.mail.hoster.test' && path === '/mail/config-v1.1.xml') return xml(autoconfigXml('hoster.test'));
      if (host === 'autoconfig.http.d.test' && path === '/mail/config-v1.1.xml') return xml(autoconfigXml('http.d.test'));
      if (host === 'autoconfig.big.d.test') return void streamBytes(response, 20 * 1024 * 1024);
      if (host === 'autoconfig.bomb.d.test') return xml(ENTITY_BOMB);
      if (host === 'autoconfig.guide.d.test' && path === '/mail/config-v1.1.xml') {
        return xml(autoconfigXml('guide.d.test').replace('</emailProvider>', `<enable visiturl="https://mail.guide.d.test/settings">
<instruction lang="en">Turn on IMAP access in your account settings.</instruction>
<instruction lang="de">Aktivieren Sie den IMAP-Zugriff in Ihren Kontoeinstellungen.</instruction></enable>
<documentation url="http://help.guide.d.test/plain"><descr lang="en">Plain-text help</descr></documentation>
<documentation url="https://help.guide.d.test/imap"><descr lang="en">IMAP help</descr><descr lang="de">IMAP-Hilfe</descr></documentation>
</emailProvider>`));
      }
      if (host === 'autoconfig.bad.d.test') return xml('<clientConfig><emailProvider><incomingServer type="imap">');
      response.writeHead(404);
      response.end();
    };
    started.push(await startHttps(WEB, leaf, web));
    started.push(await startHttp(WEB, web));
    started.push(await startHttp(PLAIN_ONLY, web));
    started.push(
      await startHttps(ISPDB, ca.issue(['ispdb.d.test']), (request, response) => {
        if (request.url === '/v1.1/isp.d.test') return response.end(autoconfigXml('isp.d.test'));
        if (request.url === '/v1.1/half.d.test') return response.end(autoconfigXml('ispdb-half.d.test'));
        response.writeHead(404);
        response.end();
      }),
    );
    hang = await startSilent(HANG);
    refused443 = await startSilent(REFUSED, 443);
    refused80 = await startSilent(REFUSED, 80);
    app = await makeApp();
  });

  after(async () => {
    for (const instance of apps) await instance.close();
    for (const server of [...started, hang, refused443, refused80]) await server.stop();
    await dns.stop();
    ca.dispose();
  });

  const lookup = async (query: string, instance = app) => {
    const response = await instance.inject({ method: 'GET', url: `/v1/lookup?${query}` });
    return response;
  };
  const found = async (query: string): Promise<LookupResult> => {
    const response = await lookup(query);
    assert.equal(response.statusCode, 200, response.body);
    return lookupResultSchema.parse(response.json());
  };
  const sourceOf = (body: LookupResult, name: string) => body.sources.find((entry) => entry.name === name);

  it('answers from https autoconfig, sending the address only in that HTTPS request, never in the answer', async () => {
    const body = await found('email=jane%40ac.d.test');
    assert.equal(body.incoming[0]?.host, 'imap.ac.d.test');
    assert.equal(body.incoming[0]?.username, 'jane@ac.d.test');
    assert.equal(body.incoming[0]?.source, 'autoconfig:https://autoconfig.ac.d.test/mail/config-v1.1.xml');
    assert.equal(body.incoming[0]?.trusted, true);
    assert.equal(body.outgoing[0]?.host, 'smtp.ac.d.test');
    assert.ok(seenUrls.includes('autoconfig.ac.d.test/mail/config-v1.1.xml?emailaddress=jane%40ac.d.test'));
    assert.equal(sourceOf(body, 'autoconfig')?.outcome, 'found');
    assert.doesNotMatch(JSON.stringify(body.sources), /jane|emailaddress/);
  });

  it('carries the autoconfig document\'s <enable> and https <documentation> entries, per language, as instructions', async () => {
    const body = await found('email=jane%40guide.d.test');
    const source = 'autoconfig:https://autoconfig.guide.d.test/mail/config-v1.1.xml';
    assert.equal(body.incoming[0]?.source, source);
    assert.deepEqual(body.instructions, [
      {
        kind: 'enable',
        url: 'https://mail.guide.d.test/settings',
        texts: [
          { lang: 'en', text: 'Turn on IMAP access in your account settings.' },
          { lang: 'de', text: 'Aktivieren Sie den IMAP-Zugriff in Ihren Kontoeinstellungen.' },
        ],
        source,
      },
      { kind: 'documentation', url: 'https://help.guide.d.test/imap', texts: [{ lang: 'en', text: 'IMAP help' }, { lang: 'de', text: 'IMAP-Hilfe' }], source },
    ]);
    // Not provider database hints: no provider matched, and the cached answer carries them too.
    assert.equal(body.provider, null);
    assert.deepEqual((await found('domain=guide.d.test')).instructions, body.instructions);
    assert.deepEqual((await found('domain=ac.d.test')).instructions, []);
  });

  it('a document without a usable incoming server does not end the search: ISPDB and SRV answer, its SMTP comes after theirs', async () => {
    const body = await found('domain=half.d.test');
    assert.equal(sourceOf(body, 'autoconfig')?.outcome, 'partial');
    assert.match(sourceOf(body, 'autoconfig')?.detail ?? '', /no supported socketType.*no incoming server/);
    assert.equal(sourceOf(body, 'ispdb')?.outcome, 'found');
    assert.equal(body.incoming[0]?.host, 'imap.ispdb-half.d.test');
    assert.equal(body.incoming[0]?.recommended, true);
    // The half document's SMTP is used, but below every complete answer's (SRV's too, when it
    // settled before the ISPDB: its _submission target on 465 is implicit TLS, RFC 8314).
    const outgoing = body.outgoing.map((server) => `${server.host}:${server.port}:${server.security}`);
    assert.equal(outgoing[0], 'smtp.ispdb-half.d.test:465:tls');
    assert.equal(outgoing.at(-1), 'smtp.half.d.test:465:tls');
    assert.ok(outgoing.every((entry) => !entry.includes('starttls')), outgoing.join());
  });

  it('a domain that publishes only JMAP gets 404 not_found with the JMAP session URL in alternatives (never fetched)', async () => {
    const response = await lookup('domain=jmaponly.d.test');
    assert.equal(response.statusCode, 404);
    const body = response.json() as { error: { code: string; message: string }; alternatives?: unknown[]; sources?: { name: string; outcome: string }[] };
    assert.equal(body.error.code, 'not_found');
    assert.match(body.error.message, /offers jmap/);
    assert.deepEqual(body.alternatives, [
      { kind: 'jmap', url: 'https://api.jmaponly.d.test/jmap/session', source: 'jmap:https://jmaponly.d.test/.well-known/jmap', trusted: true },
    ]);
    assert.equal(body.sources?.find((entry) => entry.name === 'jmap')?.outcome, 'not-found');
    // The session host resolves to a refused address: it was never even attempted.
    assert.equal(refused443.connections, 0);
  });

  it('lists JMAP beside the IMAP answer of a domain that publishes both, and 1.2 URL servers from its autoconfig', async () => {
    const both = await found('domain=both.d.test');
    assert.equal(both.incoming[0]?.host, 'imap.both.d.test');
    assert.deepEqual(both.alternatives.map((entry) => `${entry.kind} ${entry.url}`), ['jmap https://api.both.d.test/jmap/session']);
    const v12 = await found('domain=v12.d.test');
    assert.equal(v12.incoming[0]?.host, 'imap.v12.d.test');
    assert.deepEqual(v12.alternatives, [
      { kind: 'jmap', url: 'https://jmap.v12.d.test/session', source: 'autoconfig:https://autoconfig.v12.d.test/mail/config-v1.1.xml', trusted: true },
    ]);
  });

  it('answers from the well-known location', async () => {
    const body = await found('domain=wk.d.test');
    assert.equal(body.incoming[0]?.source, 'autoconfig:https://wk.d.test/.well-known/autoconfig/mail/config-v1.1.xml');
    assert.equal(sourceOf(body, 'autoconfig')?.outcome, 'not-found');
  });

  it('answers from the ISPDB', async () => {
    const body = await found('domain=isp.d.test');
    assert.equal(body.incoming[0]?.host, 'imap.isp.d.test');
    assert.equal(body.incoming[0]?.source, 'ispdb:https://ispdb.d.test/v1.1/isp.d.test');
  });

  it('answers from SRV records alone, dropping a "." target', async () => {
    const body = await found('domain=srv.d.test');
    assert.deepEqual(
      [...body.incoming, ...body.outgoing].map((server) => `${server.protocol}:${server.host}:${server.port}:${server.security}:${server.source}`),
      ['imap:imap.srv.d.test:993:tls:srv:_imaps._tcp.srv.d.test', 'smtp:smtp.srv.d.test:587:starttls:srv:_submission._tcp.srv.d.test'],
    );
    assert.ok(!body.incoming.some((server) => server.protocol === 'pop3'));
  });

  it('warns sources_disagree when the autoconfig names its own host while the MX is at a hosted provider; the ranking stays', async () => {
    const body = await found('domain=stale.d.test');
    assert.equal(body.incoming[0]?.host, 'imap.stale.d.test');
    assert.equal(body.incoming[0]?.source, 'autoconfig:https://autoconfig.stale.d.test/mail/config-v1.1.xml');
    assert.deepEqual(body.warnings.map((warning) => [warning.code, warning.sources]), [['sources_disagree', ['autoconfig', 'mx']]]);
    assert.match(body.warnings[0]?.message ?? '', /imap\.stale\.d\.test/);
  });

  it('gives a custom domain whose MX is at Microsoft 365 the Microsoft OAuth details', async () => {
    const body = await found('email=ann%40m365.d.test');
    assert.equal(body.provider?.id, 'microsoft-365');
    assert.equal(body.incoming[0]?.oauth2?.issuer, 'login.microsoftonline.com');
    assert.equal(body.incoming[0]?.oauth2?.tokenEndpoint, 'https://login.microsoftonline.com/common/oauth2/v2.0/token');
    assert.equal(body.incoming[0]?.oauth2?.source, 'provider-db:microsoft-365');
  });

  it('answers from the provider database via the best MX host', async () => {
    const body = await found('domain=mxprov.d.test');
    assert.equal(body.provider?.id, mxProvider.id);
    assert.equal(body.incoming[0]?.source, `mx:aspmx.${mxProvider.suffix}`);
  });

  it("answers from the autoconfig of the MX host's parent domain", async () => {
    const body = await found('email=joe%40mxhost.d.test');
    assert.equal(body.incoming[0]?.host, 'imap.hoster.test');
    assert.equal(body.incoming[0]?.source, 'mx:mx1.mail.hoster.test');
    assert.ok(!seenUrls.some((url) => url.startsWith('autoconfig.mail.hoster.test') && url.includes('joe')), 'the address never goes to another domain');
  });

  it('uses plain-HTTP autoconfig last, untrusted, without the address in the URL', async () => {
    const body = await found('email=ann%40http.d.test');
    assert.equal(body.incoming[0]?.source, 'autoconfig:http://autoconfig.http.d.test/mail/config-v1.1.xml');
    assert.equal(body.incoming[0]?.trusted, false);
    assert.ok(seenUrls.includes('autoconfig.http.d.test/mail/config-v1.1.xml'));
    assert.ok(!seenUrls.some((url) => url.startsWith('autoconfig.http.d.test') && url.includes('ann')));
  });

  it('bounds a hanging autoconfig host by the HTTP timeout and answers from the other sources', async () => {
    const startedAt = performance.now();
    const body = await found('domain=hang.d.test');
    const elapsed = performance.now() - startedAt;
    assert.ok(elapsed >= HTTP_TIMEOUT_MS - 50 && elapsed < HTTP_TIMEOUT_MS + 1000, `took ${elapsed} ms`);
    assert.equal(body.incoming[0]?.source, 'srv:_imaps._tcp.hang.d.test');
    assert.equal(sourceOf(body, 'autoconfig')?.outcome, 'timeout');
    assert.ok(hang.connections >= 1);
  });

  it('cuts a 20 MB autoconfig body at the cap and answers from SRV', async () => {
    const body = await found('domain=big.d.test');
    assert.equal(sourceOf(body, 'autoconfig')?.error, 'too_large');
    assert.equal(body.incoming[0]?.source, 'srv:_imaps._tcp.big.d.test');
  });

  it('refuses an entity bomb and malformed XML as source errors', async () => {
    const bomb = await found('domain=bomb.d.test');
    assert.equal(sourceOf(bomb, 'autoconfig')?.error, 'doctype_refused');
    assert.equal(bomb.incoming[0]?.source, 'srv:_imaps._tcp.bomb.d.test');
    const bad = await lookup('domain=bad.d.test');
    assert.equal(bad.statusCode, 404);
  });

  it('reports hosts resolving to a refused address as blocked and never connects to them', async () => {
    const response = await lookup('domain=blocked.d.test');
    assert.equal(response.statusCode, 404);
    const body = response.json() as { sources: { name: string; outcome: string }[] };
    const outcome = (name: string) => body.sources.find((source) => source.name === name)?.outcome;
    // autoconfig.blocked.d.test over https and http, and blocked.d.test's well-known location.
    assert.deepEqual([outcome('autoconfig'), outcome('autoconfig-well-known'), outcome('http-autoconfig')], ['blocked', 'blocked', 'blocked']);
    // Read once the lookup has answered: the policy refused before any socket was opened.
    assert.equal(refused443.connections, 0);
    assert.equal(refused80.connections, 0);
    const fresh = await app.inject({ method: 'GET', url: '/v1/lookup?domain=blocked.d.test&fresh=true' });
    assert.equal(fresh.statusCode, 404);
  });

  it('survives DNS SERVFAIL and DNS timeouts with a bounded not_found', async () => {
    for (const domain of ['servfail.d.test', 'dnstimeout.d.test']) {
      const startedAt = performance.now();
      const response = await lookup(`domain=${domain}`);
      assert.equal(response.statusCode, 404, domain);
      assert.equal(response.json().error.code, 'not_found');
      assert.ok(performance.now() - startedAt < 3000, domain);
    }
  });

  it('aborts the upstream work when the client disconnects', async () => {
    const slow = await makeApp({ HTTP_TIMEOUT_MS: '6000', LOOKUP_TIMEOUT_MS: '8000' });
    await slow.listen({ port: 0, host: '127.0.1.5' });
    const { port } = slow.server.address() as AddressInfo;
    const contacted = hang.nextConnection();
    const request = http.get({ host: '127.0.1.5', port, path: '/v1/lookup?domain=hang2.d.test' });
    request.on('error', () => {});
    // The hanging autoconfig host was contacted: the discovery is under way.
    const upstream = await contacted;
    const upstreamClosed = closedEvent(upstream);
    const disconnectedAt = performance.now();
    request.destroy();
    await upstreamClosed;
    assert.ok(performance.now() - disconnectedAt < 1500, 'closed long before its 6 s timeout');
    assert.equal(slow.services.lookupCache.inFlight, 0);
  });

  it('releases a disconnected request\'s pending-discovery marker, so the next request for that domain counts again', async () => {
    // With a limit of one, the first request uses the client's allowance. Were its marker left
    // behind after the disconnect, the second request would join a discovery that no longer runs
    // (exempt, hanging on the autoconfig host); released, it counts and is refused at once.
    const limited = await makeApp({ RATE_LIMIT_MAX: '1', RATE_LIMIT_WINDOW_MS: '60000', HTTP_TIMEOUT_MS: '6000', LOOKUP_TIMEOUT_MS: '8000' });
    await limited.listen({ port: 0, host: '127.0.1.5' });
    const { port } = limited.server.address() as AddressInfo;
    const get = () => http.get({ host: '127.0.1.5', port, localAddress: '127.0.1.6', path: '/v1/lookup?domain=hang3.d.test' });
    const contacted = hang.nextConnection();
    const first = get();
    first.on('error', () => {});
    // The first request started a discovery: it is asking the hanging autoconfig host.
    const upstream = await contacted;
    const upstreamClosed = closedEvent(upstream);
    first.destroy();
    // The discovery was given up (its only client left) once its upstream connection closes; the
    // marker went with the client's close, before that.
    await upstreamClosed;
    assert.equal(limited.services.lookupCache.inFlight, 0);
    const status = await new Promise<number>((resolve, reject) => {
      const second = get();
      // A guard only: were the marker left, this request would hang on a discovery that no longer runs.
      second.setTimeout(2000, () => second.destroy(new Error('the second request hung: the marker was not released')));
      second.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      second.on('error', reject);
    });
    assert.equal(status, 429);
  });

  it('rate-limits cache-missing lookups per client with 429 and Retry-After, never cache hits', async () => {
    const limited = await makeApp({ RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' });
    assert.equal((await lookup('domain=ac.d.test', limited)).statusCode, 200);
    for (let index = 0; index < 5; index += 1) {
      const hit = await lookup('email=x%40ac.d.test', limited);
      assert.equal(hit.statusCode, 200);
      assert.equal(hit.json().cached, true);
    }
    assert.equal((await lookup('domain=wk.d.test', limited)).statusCode, 200);
    const third = await lookup('domain=isp.d.test', limited);
    assert.equal(third.statusCode, 429);
    assert.equal(third.json().error.code, 'rate_limited');
    assert.ok(Number(third.headers['retry-after']) > 0);
    const stillCached = await lookup('domain=ac.d.test', limited);
    assert.equal(stillCached.statusCode, 200, 'cache hits stay unthrottled');
    const freshBypass = await lookup('domain=ac.d.test&fresh=true', limited);
    assert.equal(freshBypass.statusCode, 429, 'fresh=true starts a discovery, so it counts');
  });

  it('lets 300 concurrent lookups of one new domain from one client share one discovery, unthrottled', async () => {
    // Each crowd request is counted in its last hook before the handler, which joins (or starts)
    // the discovery at once; the autoconfig host answers only when all 300 are in.
    let counted = 0;
    let allIn: () => void = () => {};
    const everyoneIn = new Promise<void>((resolve) => (allIn = resolve));
    const crowd = await makeApp({ RATE_LIMIT_MAX: '2' }, (instance) =>
      instance.addHook('preHandler', (request, _reply, done) => {
        if (request.url.includes('crowd.d.test') && (counted += 1) === 300) allIn();
        done();
      }),
    );
    const pending = Promise.all(Array.from({ length: 300 }, (_, index) => lookup(`email=user${index}%40crowd.d.test`, crowd)));
    await Promise.all([everyoneIn, crowdFetched]);
    openCrowdGate();
    const responses = await pending;
    assert.deepEqual([...new Set(responses.map((response) => response.statusCode))], [200]);
    // One discovery = one https fetch (it carries the first requester's address; plain HTTP never does).
    assert.equal(seenUrls.filter((url) => url.startsWith('autoconfig.crowd.d.test/') && url.includes('emailaddress=')).length, 1, 'exactly one discovery');
    assert.equal(responses.filter((response) => response.json().cached === false).length, 300);
    // The marker is gone once answered: the next new domain counts again, as does a refused one.
    assert.equal((await lookup('domain=wk.d.test', crowd)).statusCode, 200);
    assert.equal((await lookup('domain=isp.d.test', crowd)).statusCode, 429);
    assert.equal((await lookup('domain=isp.d.test', crowd)).statusCode, 429, 'a refused lookup leaves no free pass behind');
  });

  it('answers 503 busy beyond DISCOVERY_CONCURRENCY, while identical lookups share one discovery', async () => {
    const narrow = await makeApp({ DISCOVERY_CONCURRENCY: '1' });
    const contacted = hang.nextConnection();
    const first = lookup('domain=hang.d.test', narrow);
    const same = lookup('domain=hang.d.test', narrow);
    // The one discovery is running: it is asking the hanging autoconfig host.
    await contacted;
    const other = await lookup('domain=srv.d.test', narrow);
    assert.equal(other.statusCode, 503);
    assert.equal(other.json().error.code, 'busy');
    assert.equal((await first).statusCode, 200);
    assert.equal((await same).statusCode, 200);
    assert.equal((await lookup('domain=srv.d.test', narrow)).statusCode, 200, 'the slot is free again');
  });
});
