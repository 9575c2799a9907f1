import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { errorBodySchema } from '../../src/api/schemas.js';
import { buildAutodiscoverRequest, parseAutodiscoverXml } from '../../src/formats/autodiscover-xml.js';
import { loadProviderDb } from '../../src/provider-db/provider-db.js';
import { buildTestApp } from '../helpers/app.js';
import { anyString, runProperty } from './fuzz-options.js';
import { escapeXml, hostileText } from './xml-arbitraries.js';

// The serving routes under arbitrary Host headers, query strings and Autodiscover bodies: never a
// 5xx; every error is either the stable JSON shape or, for an unreadable Autodiscover request, the
// Autodiscover error answer; a served document is the same whatever else the request carried.
// No network: nothing here resolves or connects (the DNS server is a closed port anyway).

const HOSTS = [
  'autoconfig.alpha.test', 'alpha.test', 'ua-auto-config.alpha.test', 'autodiscover.alpha.test', 'AUTOCONFIG.ALPHA.TEST.:443',
  'autoconfig.beta.test', 'ua-auto-config.beta.test', 'autoconfig.gamma.test', 'autoconfig.alpha.test.evil.test', '[::1]:443',
  '127.0.0.1', 'localhost', 'autoconfig.', '.alpha.test', 'autoconfig..alpha.test', 'constructor', '__proto__.alpha.test',
];
const host = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTS) },
  { weight: 1, arbitrary: fc.domain() },
  { weight: 1, arbitrary: fc.stringMatching(/^[\x21-\x7e]{0,80}$/) },
);
const GETS = ['/mail/config-v1.1.xml', '/.well-known/autoconfig/mail/config-v1.1.xml', '/.well-known/user-agent-configuration.json', '/v1/mobileconfig', '/v1/publish'];
const queryValue = fc.oneof(
  fc.constantFrom('jane@alpha.test', 'jane@beta.test', 'alpha.test', 'beta.test', 'gamma.test', 'jane@gamma.test', '', '@', 'a@b@alpha.test', '127.0.0.1', 'x@[::1]'),
  anyString(60),
  fc.emailAddress(),
);
const encode = (text: string) => {
  try {
    return encodeURIComponent(text);
  } catch {
    return 'x';
  }
};
const query = fc
  .array(fc.tuple(fc.constantFrom('emailaddress', 'email', 'domain', 'x', '__proto__'), queryValue), { maxLength: 3 })
  .map((pairs) => (pairs.length ? `?${pairs.map(([key, value]) => `${key}=${encode(value)}`).join('&')}` : ''));

const SCHEMA_2006A = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';
const autodiscoverBody = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(queryValue, fc.constantFrom(SCHEMA_2006A, SCHEMA_2006A.toUpperCase(), 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006', '')).map(([address, schema]) => buildAutodiscoverRequest(address).replace(SCHEMA_2006A, escapeXml(schema))) },
  { weight: 2, arbitrary: fc.tuple(hostileText, hostileText).map(([address, schema]) => `<Autodiscover><Request><EMailAddress>${address}</EMailAddress><AcceptableResponseSchema>${schema}</AcceptableResponseSchema></Request></Autodiscover>`) },
  { weight: 1, arbitrary: anyString(300) },
  { weight: 1, arbitrary: fc.integer({ min: 8000, max: 9000 }).map((size) => buildAutodiscoverRequest('jane@alpha.test').replace('<Request>', `<Request>${' '.repeat(size)}`)) },
);
const contentType = fc.constantFrom('text/xml', 'text/xml; charset=utf-8', 'application/xml', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined);

describe('fuzz: serving routes', () => {
  let app: FastifyInstance;
  let autoconfigXml = '';
  before(async () => {
    const providerDb = await loadProviderDb({ extraDir: fileURLToPath(new URL('../fixtures/providers-serve/', import.meta.url)) });
    app = await buildTestApp({ SERVE_DOMAINS: 'alpha.test,beta.test', SERVE_HOSTNAME: 'settings.serve.test' }, { providerDb });
    autoconfigXml = (await app.inject({ method: 'GET', url: '/mail/config-v1.1.xml', headers: { host: 'autoconfig.alpha.test' } })).body;
  });
  after(() => app.close());

  it('GET routes: any Host and query give 200, or a 4xx with the stable error shape; alpha.test autoconfig is always the same text', async (t) => {
    await runProperty(
      t,
      fc.asyncProperty(fc.constantFrom(...GETS), host, query, async (path, hostHeader, search) => {
        const response = await app.inject({ method: 'GET', url: `${path}${search}`, headers: { host: hostHeader } });
        assert.ok(response.statusCode < 500, `${response.statusCode} ${path}${search} ${hostHeader}: ${response.body}`);
        if (response.statusCode >= 400) {
          assert.ok(errorBodySchema.safeParse(response.json()).success, response.body);
          return;
        }
        assert.equal(response.statusCode, 200);
        if (path === '/mail/config-v1.1.xml' && response.body.includes('alpha.test')) assert.equal(response.body, autoconfigXml);
      }),
      400,
    );
  });

  it('Autodiscover: any body and content type give settings, the Autodiscover error, or a stable 4xx', async (t) => {
    await runProperty(
      t,
      fc.asyncProperty(autodiscoverBody, contentType, async (payload, type) => {
        const response = await app.inject({
          method: 'POST',
          url: '/autodiscover/autodiscover.xml',
          headers: { host: 'autodiscover.alpha.test', ...(type ? { 'content-type': type } : {}) },
          payload,
        });
        const status = response.statusCode;
        assert.ok([200, 400, 404, 413, 415].includes(status), `${status}: ${response.body}`);
        if (status === 400 && /xml/.test(String(response.headers['content-type']))) {
          const parsed = parseAutodiscoverXml(response.body, { address: 'x@alpha.test' });
          assert.ok(!parsed.ok && parsed.error === 'autodiscover_error' && /Autodiscover error 60[01]/.test(parsed.message), response.body);
        } else if (status >= 400) {
          assert.ok(errorBodySchema.safeParse(response.json()).success, response.body);
        } else {
          const address = /<EMailAddress>([^<]*)<\/EMailAddress>/.exec(payload)?.[1] ?? '';
          const parsed = parseAutodiscoverXml(response.body, { address });
          assert.ok(parsed.ok && parsed.action === 'settings' && parsed.servers.length > 0, response.body);
        }
      }),
      400,
    );
  });
});
