import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCorsOrigins } from '../../src/plugins/cors.js';
import { buildTestApp } from '../helpers/app.js';

const LOOKUP = '/v1/lookup?domain=example-mail.test';
// Names the app resolves go to a closed loopback port: these tests never reach a real resolver.
const OFFLINE = { DNS_SERVERS: '127.0.4.53:9', DNS_TRIES: '1', DNS_TIMEOUT_MS: '200' } as const;

describe('CORS', () => {
  it('allows any origin by default on the read-only API', async () => {
    const app = await buildTestApp(OFFLINE);
    try {
      const response = await app.inject({ url: LOOKUP, headers: { origin: 'https://help.some-isp.example' } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['access-control-allow-origin'], '*');
      assert.match(String(response.headers['access-control-expose-headers']), /Retry-After/);
    } finally {
      await app.close();
    }
  });

  it('reflects only the origins listed in CORS_ORIGINS', async () => {
    const app = await buildTestApp({ ...OFFLINE, CORS_ORIGINS: 'https://help.isp-one.example, https://support.isp-two.example/' });
    try {
      const allowed = await app.inject({ url: LOOKUP, headers: { origin: 'https://support.isp-two.example' } });
      assert.equal(allowed.statusCode, 200);
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://support.isp-two.example');
      assert.match(String(allowed.headers.vary), /Origin/i);

      const denied = await app.inject({ url: LOOKUP, headers: { origin: 'https://evil.example' } });
      assert.equal(denied.headers['access-control-allow-origin'], undefined);
    } finally {
      await app.close();
    }
  });

  it('answers a preflight for an allowed origin with GET allowed, and none for another origin', async () => {
    const app = await buildTestApp({ ...OFFLINE, CORS_ORIGINS: 'https://help.isp-one.example' });
    try {
      const preflight = (origin: string) =>
        app.inject({
          method: 'OPTIONS',
          url: LOOKUP,
          headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'accept' },
        });
      const ok = await preflight('https://help.isp-one.example');
      assert.equal(ok.statusCode, 204);
      assert.equal(ok.headers['access-control-allow-origin'], 'https://help.isp-one.example');
      assert.match(String(ok.headers['access-control-allow-methods']), /GET/);
      const other = await preflight('https://elsewhere.example');
      assert.equal(other.headers['access-control-allow-origin'], undefined);
    } finally {
      await app.close();
    }
  });

  it('answers any preflight with 204 before routing and rate limits, echoing the requested headers', async () => {
    const app = await buildTestApp({ ...OFFLINE, RATE_LIMIT_MAX: '1' });
    try {
      for (let index = 0; index < 3; index += 1) {
        const preflight = await app.inject({
          method: 'OPTIONS',
          url: LOOKUP,
          headers: { origin: 'https://help.some-isp.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'accept, x-widget' },
        });
        assert.equal(preflight.statusCode, 204);
        assert.equal(preflight.body, '');
        assert.equal(preflight.headers['access-control-allow-origin'], '*');
        assert.equal(preflight.headers['access-control-allow-headers'], 'accept, x-widget');
        assert.match(String(preflight.headers.vary), /Access-Control-Request-Headers/);
        assert.equal(preflight.headers['access-control-max-age'], '600');
      }
      // Not a lookup: the preflights used none of the client's allowance.
      assert.equal((await app.inject({ url: LOOKUP })).statusCode, 200);
    } finally {
      await app.close();
    }
  });

  it('parses CORS_ORIGINS: empty or * means any origin, otherwise trimmed origins', () => {
    assert.equal(parseCorsOrigins('*'), '*');
    assert.equal(parseCorsOrigins(''), '*');
    assert.equal(parseCorsOrigins('https://a.example,*'), '*');
    assert.deepEqual(parseCorsOrigins(' https://a.example/ , http://b.example:8080 '), ['https://a.example', 'http://b.example:8080']);
  });
});
