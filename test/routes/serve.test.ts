// The serving routes through app.inject: Host matching, the never-400 autoconfig, the Autodiscover
// error answer, caps, headers, the Apple profile, the records to publish and the lookup hint.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { parse as parsePlist } from 'plist';
import { lookupResultSchema } from '../../src/api/schemas.js';
import { publishResultSchema } from '../../src/api/serve-schemas.js';
import { testConfig } from '../helpers/config.js';
import { buildAutodiscoverRequest, parseAutodiscoverXml } from '../../src/formats/autodiscover-xml.js';
import { parseAutoconfigXml } from '../../src/formats/autoconfig-xml.js';
import { verifyPaccDigest } from '../../src/formats/pacc-json.js';
import { Network } from '../../src/net/connect.js';
import { DnsResolver } from '../../src/net/dns.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { loadProviderDb, type ProviderDb } from '../../src/provider-db/provider-db.js';
import type { Source } from '../../src/sources/types.js';
import { buildTestApp, NO_DNS_SERVER } from '../helpers/app.js';

const SERVE = { SERVE_DOMAINS: 'alpha.test,beta.test', SERVE_HOSTNAME: 'settings.serve.test' };
const request = (app: FastifyInstance, options: InjectOptions) => app.inject(options);
const autodiscover = (app: FastifyInstance, payload: string, extra: Partial<InjectOptions> = {}) =>
  request(app, { method: 'POST', url: '/autodiscover/autodiscover.xml', headers: { host: 'autodiscover.alpha.test', 'content-type': 'text/xml' }, payload, ...extra });

describe('serving routes', () => {
  let app: FastifyInstance;
  let providerDb: ProviderDb;
  before(async () => {
    providerDb = await loadProviderDb({ extraDir: fileURLToPath(new URL('../fixtures/providers-serve/', import.meta.url)) });
    app = await buildTestApp(SERVE, { providerDb });
  });
  after(() => app.close());

  it('serves autoconfig for autoconfig.<domain>, one document whatever the address (never 400), cacheable', async () => {
    const urls = ['', '?emailaddress=jane%40alpha.test', '?emailaddress=nobody%40alpha.test', '?emailaddress=%00%3C', '?emailaddress=a&emailaddress=b', `?emailaddress=${'x'.repeat(2000)}`];
    const bodies = new Set<string>();
    for (const query of urls) {
      const response = await request(app, { method: 'GET', url: `/mail/config-v1.1.xml${query}`, headers: { host: 'AutoConfig.Alpha.TEST:443' } });
      assert.equal(response.statusCode, 200, query);
      assert.match(String(response.headers['content-type']), /^application\/xml/);
      assert.match(String(response.headers['cache-control']), /public/);
      bodies.add(response.body);
    }
    assert.equal(bodies.size, 1);
    const parsed = parseAutoconfigXml([...bodies][0] ?? '', { domain: 'alpha.test' });
    assert.ok(parsed.ok);
    assert.equal(parsed.data.incoming[0]?.host, 'imap.alpha.test');
  });

  it('serves the well-known path on the domain itself, and 404 for every other host name', async () => {
    const wellKnown = await request(app, { method: 'GET', url: '/.well-known/autoconfig/mail/config-v1.1.xml', headers: { host: 'alpha.test' } });
    assert.equal(wellKnown.statusCode, 200);
    for (const host of ['autoconfig.gamma.test', 'autodiscover.alpha.test', 'autoconfig.alpha.test.evil.test', '127.0.0.1', '[::1]']) {
      const response = await request(app, { method: 'GET', url: '/mail/config-v1.1.xml', headers: { host } });
      assert.equal(response.statusCode, 404, host);
      assert.deepEqual(response.json().error.code, 'not_found');
      assert.doesNotMatch(response.body, /evil|gamma/, 'the Host header is not echoed');
    }
  });

  it('serves PACC bytes that the published TXT value vouches for; 404 where PACC cannot describe the provider', async () => {
    const pacc = await request(app, { method: 'GET', url: '/.well-known/user-agent-configuration.json', headers: { host: 'ua-auto-config.alpha.test' } });
    assert.equal(pacc.statusCode, 200);
    const published = publishResultSchema.parse((await request(app, { method: 'GET', url: '/v1/publish?domain=alpha.test' })).json());
    const txt = published.records.flatMap((record) => (record.type === 'TXT' ? [record.text] : []));
    assert.deepEqual(verifyPaccDigest(pacc.rawPayload, txt), { ok: true });
    const beta = await request(app, { method: 'GET', url: '/.well-known/user-agent-configuration.json', headers: { host: 'ua-auto-config.beta.test' } });
    assert.equal(beta.statusCode, 404);
  });

  it('answers Autodiscover POX on both spellings of the path with the login name for the address, never cached', async () => {
    for (const url of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
      const response = await autodiscover(app, buildAutodiscoverRequest('jane@alpha.test'), { url });
      assert.equal(response.statusCode, 200, url);
      assert.equal(response.headers['cache-control'], 'no-store');
      const parsed = parseAutodiscoverXml(response.body, { address: 'jane@alpha.test' });
      assert.ok(parsed.ok && parsed.action === 'settings');
      assert.deepEqual(parsed.servers.map((server) => `${server.protocol}:${server.port}:${server.security}:${server.username}`), [
        'imap:993:tls:%EMAILADDRESS%',
        'imap:143:starttls:%EMAILADDRESS%',
        'pop3:995:tls:%EMAILADDRESS%',
        'smtp:465:tls:%EMAILADDRESS%',
        'smtp:587:starttls:%EMAILADDRESS%',
      ]);
    }
  });

  it('answers a request it cannot read with the Autodiscover error (400), never a 500', async () => {
    const cases: [string, string, number][] = [
      ['garbage', 'not xml', 600],
      ['doctype', '<!DOCTYPE x [<!ENTITY a "b">]><Autodiscover/>', 600],
      ['no address', '<Autodiscover><Request><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>', 600],
      ['bad address', buildAutodiscoverRequest('not an address'), 600],
      ['mobilesync schema', buildAutodiscoverRequest('jane@alpha.test').replace(/outlook\/responseschema\/2006a/, 'mobilesync/responseschema/2006'), 601],
      ['empty body', '', 600],
    ];
    for (const [name, payload, code] of cases) {
      const response = await autodiscover(app, payload);
      assert.equal(response.statusCode, 400, name);
      assert.match(String(response.headers['content-type']), /xml/, name);
      const parsed = parseAutodiscoverXml(response.body, { address: 'jane@alpha.test' });
      assert.ok(!parsed.ok && parsed.error === 'autodiscover_error' && parsed.message.startsWith(`Autodiscover error ${code}`), `${name}: ${response.body}`);
    }
    const json = await autodiscover(app, '{"a":1}', { headers: { host: 'autodiscover.alpha.test', 'content-type': 'application/json' } });
    assert.equal(json.statusCode, 400);
    assert.match(json.body, /<ErrorCode>600<\/ErrorCode>/);
  });

  it('caps the request body (413 payload_too_large) and answers 404 for an address at another domain', async () => {
    const big = await autodiscover(app, buildAutodiscoverRequest('jane@alpha.test').replace('<Request>', `<Request>${' '.repeat(9000)}`));
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error.code, 'payload_too_large');
    const other = await autodiscover(app, buildAutodiscoverRequest('jane@gmail.com'));
    assert.equal(other.statusCode, 404);
    assert.equal(other.json().error.code, 'not_found');
  });

  it('serves the Apple profile for an address as an attachment, never cached; 400 and 404 with stable codes', async () => {
    const response = await request(app, { method: 'GET', url: '/v1/mobileconfig?email=jane%40alpha.test' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'application/x-apple-aspen-config');
    assert.equal(response.headers['content-disposition'], 'attachment; filename="alpha.test.mobileconfig"');
    assert.equal(response.headers['cache-control'], 'no-store');
    const profile = parsePlist(response.body) as { PayloadContent: { EmailAddress: string; IncomingMailServerHostName: string }[] };
    assert.equal(profile.PayloadContent[0]?.EmailAddress, 'jane@alpha.test');
    assert.equal(profile.PayloadContent[0]?.IncomingMailServerHostName, 'imap.alpha.test');
    const codes = async (url: string) => {
      const reply = await request(app, { method: 'GET', url });
      return [reply.statusCode, reply.json().error.code];
    };
    assert.deepEqual(await codes('/v1/mobileconfig'), [400, 'invalid_input']);
    assert.deepEqual(await codes('/v1/mobileconfig?email=not-an-address'), [400, 'invalid_input']);
    assert.deepEqual(await codes('/v1/mobileconfig?email=jane%40gmail.com'), [404, 'not_found']);
  });

  it('lists the records to publish for a served domain, and refuses others', async () => {
    const response = await request(app, { method: 'GET', url: '/v1/publish?domain=Alpha.Test' });
    assert.equal(response.statusCode, 200);
    const body = publishResultSchema.parse(response.json());
    assert.equal(body.target, 'settings.serve.test');
    assert.match(body.zone, /^autoconfig\.alpha\.test\. 3600 IN CNAME settings\.serve\.test\.$/m);
    assert.equal((await request(app, { method: 'GET', url: '/v1/publish?domain=gmail.com' })).statusCode, 404);
    assert.equal((await request(app, { method: 'GET', url: '/v1/publish?domain=127.0.0.1' })).statusCode, 400);
  });

  it('adds the autoconfigure hint to lookups of a served domain (profile URL per address), cached answers included', async () => {
    for (let round = 0; round < 2; round += 1) {
      const byEmail = lookupResultSchema.parse((await request(app, { method: 'GET', url: '/v1/lookup?email=jane%40alpha.test' })).json());
      assert.deepEqual(byEmail.autoconfigure, { mobileconfigUrl: 'https://settings.serve.test/v1/mobileconfig?email=jane%40alpha.test' });
      const joe = lookupResultSchema.parse((await request(app, { method: 'GET', url: '/v1/lookup?email=joe%40alpha.test' })).json());
      assert.equal(joe.autoconfigure?.mobileconfigUrl, 'https://settings.serve.test/v1/mobileconfig?email=joe%40alpha.test');
      const byDomain = lookupResultSchema.parse((await request(app, { method: 'GET', url: '/v1/lookup?domain=alpha.test' })).json());
      assert.deepEqual(byDomain.autoconfigure, { mobileconfigUrl: null });
      const gmail = lookupResultSchema.parse((await request(app, { method: 'GET', url: '/v1/lookup?email=jane%40gmail.com' })).json());
      assert.equal(gmail.autoconfigure, undefined);
    }
  });
});

describe('serving routes with SERVE_DOMAINS empty (the default)', () => {
  it('answer 404 for every domain and host name', async () => {
    const app = await buildTestApp();
    try {
      const responses = await Promise.all([
        request(app, { method: 'GET', url: '/mail/config-v1.1.xml', headers: { host: 'autoconfig.example-mail.test' } }),
        request(app, { method: 'GET', url: '/.well-known/user-agent-configuration.json', headers: { host: 'ua-auto-config.gmail.com' } }),
        autodiscover(app, buildAutodiscoverRequest('jane@gmail.com')),
        request(app, { method: 'GET', url: '/v1/mobileconfig?email=jane%40gmail.com' }),
        request(app, { method: 'GET', url: '/v1/publish?domain=gmail.com' }),
      ]);
      assert.deepEqual(responses.map((response) => response.statusCode), [404, 404, 404, 404, 404]);
      const lookup = lookupResultSchema.parse((await request(app, { method: 'GET', url: '/v1/lookup?email=jane%40gmail.com' })).json());
      assert.equal(lookup.autoconfigure, undefined);
    } finally {
      await app.close();
    }
  });
});

describe('served documents start no discovery and no outbound traffic', () => {
  it('leave every source unasked and the network untouched', async () => {
    let networkCalls = 0;
    let sourceCalls = 0;
    const count = <T>(value: T): T => {
      networkCalls += 1;
      return value;
    };
    const config = testConfig({ DNS_SERVERS: NO_DNS_SERVER });
    class CountingDns extends DnsResolver {
      override addresses(...args: Parameters<DnsResolver['addresses']>) { return count(super.addresses(...args)); }
      override srv(...args: Parameters<DnsResolver['srv']>) { return count(super.srv(...args)); }
      override txt(...args: Parameters<DnsResolver['txt']>) { return count(super.txt(...args)); }
      override mx(...args: Parameters<DnsResolver['mx']>) { return count(super.mx(...args)); }
    }
    class CountingNetwork extends Network {
      override resolveTarget(...args: Parameters<Network['resolveTarget']>) { return count(super.resolveTarget(...args)); }
      override connect(...args: Parameters<Network['connect']>) { return count(super.connect(...args)); }
    }
    const network = new CountingNetwork(new CountingDns({ servers: config.DNS_SERVERS, timeoutMs: 100, tries: 1 }), new AddressPolicy([]));
    const recording: Source = { name: 'recording', priority: 10, async lookup() { sourceCalls += 1; return { outcome: 'not-found' }; } };
    const providerDb = await loadProviderDb({ extraDir: fileURLToPath(new URL('../fixtures/providers-serve/', import.meta.url)) });
    const app = await buildTestApp(SERVE, { providerDb, network, sources: [recording] });
    try {
      const statuses = await Promise.all([
        request(app, { method: 'GET', url: '/mail/config-v1.1.xml?emailaddress=jane%40alpha.test', headers: { host: 'autoconfig.alpha.test' } }),
        request(app, { method: 'GET', url: '/.well-known/autoconfig/mail/config-v1.1.xml', headers: { host: 'alpha.test' } }),
        request(app, { method: 'GET', url: '/.well-known/user-agent-configuration.json', headers: { host: 'ua-auto-config.alpha.test' } }),
        autodiscover(app, buildAutodiscoverRequest('jane@alpha.test')),
        request(app, { method: 'GET', url: '/v1/mobileconfig?email=jane%40alpha.test' }),
        request(app, { method: 'GET', url: '/v1/publish?domain=alpha.test' }),
        request(app, { method: 'GET', url: '/mail/config-v1.1.xml', headers: { host: 'autoconfig.unknown.test' } }),
      ]).then((responses) => responses.map((response) => response.statusCode));
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 404]);
      assert.equal(sourceCalls, 0);
      assert.equal(networkCalls, 0);
      // The counters work: a lookup does ask the source.
      await request(app, { method: 'GET', url: '/v1/lookup?domain=unknown.test' });
      assert.equal(sourceCalls, 1);
    } finally {
      await app.close();
    }
  });
});
