import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { checkSchema } from '../../src/api/schemas.js';
import { HttpClient } from '../../src/net/http.js';
import { buildTestApp } from '../helpers/app.js';
import { TestDnsServer } from '../helpers/dns-server.js';

// Loopback world of this file: DNS 127.0.8.2. Every name under hidden.test resolves to an internal
// address that the default policy refuses; nothing ever listens there (no connection is attempted).
const DNS = '127.0.8.2';
const INTERNAL = '10.9.8.7';
const INTERNAL_V6 = 'fd00:9:8::7';

describe('refusals do not reveal resolved internal addresses (routes)', () => {
  const dns = new TestDnsServer(DNS);
  let app: FastifyInstance;
  const logLines: Record<string, unknown>[] = [];

  before(async () => {
    for (const name of ['hidden.test', '*.hidden.test']) {
      dns.set(name, (type) => (type === 'A' ? [{ type: 'A', address: INTERNAL }] : type === 'AAAA' ? [{ type: 'AAAA', address: INTERNAL_V6 }] : []));
    }
    await dns.start();
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    app = await buildTestApp({ DNS_SERVERS: dns.server, DNS_TIMEOUT_MS: '500', LOG_LEVEL: 'debug', HTTP_TIMEOUT_MS: '1000', LOOKUP_TIMEOUT_MS: '3000' }, { logStream });
  });
  after(async () => {
    await app.close();
    await dns.stop();
  });

  const leaks = (text: string) => text.includes(INTERNAL) || text.includes(INTERNAL_V6) || /private|unique ?local|special-purpose|\brange\b/i.test(text);

  it('/v1/check: forbidden_target with address null and a message without the address or the rule', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/check?host=imap.hidden.test&port=993&protocol=imap&security=tls' });
    assert.equal(response.statusCode, 200);
    const body = checkSchema.parse(response.json());
    assert.equal(body.ok, false);
    assert.equal(body.error?.code, 'forbidden_target');
    assert.equal(body.address, null);
    assert.ok(!leaks(response.body), response.body);
  });

  it('/v1/lookup: no source detail names the address or the rule; the debug log does', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/lookup?domain=hidden.test' });
    // Nothing usable is found: a 404 that still carries the trace of every source.
    assert.equal(response.statusCode, 404, response.body);
    const body = response.json() as { sources: { outcome: string; detail?: string }[] };
    const blocked = body.sources.filter((source) => source.outcome === 'blocked');
    assert.ok(blocked.length >= 3, JSON.stringify(body.sources));
    for (const source of blocked) assert.ok(source.detail && /refuse/i.test(source.detail), JSON.stringify(source));
    assert.ok(!leaks(response.body), JSON.stringify(body.sources, null, 1));
    const debug = logLines.filter((line) => line.msg === 'address policy refused a target');
    assert.ok(debug.some((line) => line.address === INTERNAL && typeof line.reason === 'string' && String(line.host).endsWith('hidden.test')), JSON.stringify(debug));
  });

  it('HttpClient: an IP-literal URL is blocked without naming the rule or echoing the address in the message', async () => {
    const client = new HttpClient({ network: app.services.network, timeoutMs: 1000 });
    for (const url of [`http://${INTERNAL}/`, `https://[${INTERNAL_V6}]/`, 'http://[::ffff:10.9.8.7]/']) {
      const result = await client.get(url);
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.code, 'blocked');
        assert.ok(!leaks(result.message), result.message);
      }
    }
  });
});
