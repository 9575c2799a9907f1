import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Network } from '../../src/net/connect.js';
import { DnsResolver } from '../../src/net/dns.js';
import { HttpClient } from '../../src/net/http.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { startHttp, startHttps, startSilent, streamBytes, type SilentServer, type Started } from '../helpers/servers.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

// Loopback world of this file: DNS 127.0.1.2, HTTPS 127.0.1.10 (good) and .11 (hangs), HTTP .12,
// and 127.0.2.200 as a refused address (outside the allow-list) with a listener counting connections.
const DNS = '127.0.1.2';
const GOOD = '127.0.1.10';
const HANG = '127.0.1.11';
const PLAIN = '127.0.1.12';
const REFUSED = '127.0.2.200';
const TIMEOUT_MS = 800;

describe('HttpClient against hostile servers (loopback)', () => {
  let ca: TestCa;
  const dns = new TestDnsServer(DNS);
  const stops: Started<unknown>[] = [];
  let refused: SilentServer;
  let hang: SilentServer;
  let client: HttpClient;
  let untrustingClient: HttpClient;
  let network: Network;
  const hits = new Map<string, number>();
  /** What the servers did, as events a test awaits: 'big-ended' (bytes written), 'drip-started'. */
  const serverEvents = new EventEmitter();
  let plainRequests = 0;

  before(async () => {
    ca = createTestCa();
    const leaf = ca.issue(['good.h.test', 'rebind.h.test', 'mixed.h.test', 'alias.h.test']);
    const wrongName = ca.issue(['someone-else.test']);
    for (const name of ['good.h.test', 'rebind.h.test']) dns.set(name, [{ type: 'A', address: GOOD }]);
    dns.set('mixed.h.test', [{ type: 'A', address: GOOD }, { type: 'A', address: REFUSED }]);
    dns.set('blocked.h.test', [{ type: 'A', address: REFUSED }]);
    dns.set('v6blocked.h.test', [{ type: 'AAAA', address: '::ffff:127.0.2.200' }]);
    dns.set('hang.h.test', [{ type: 'A', address: HANG }]);
    dns.set('plain.h.test', [{ type: 'A', address: PLAIN }]);
    dns.set('wrongcert.h.test', [{ type: 'A', address: '127.0.1.13' }]);
    dns.set('servfail.h.test', 'servfail');
    dns.set('dnstimeout.h.test', 'timeout');
    // Rebinding: the first answer is allowed, every later one points at the refused address.
    dns.set('rebind.h.test', (_type, count) => (count <= 2 ? [{ type: 'A', address: GOOD, ttl: 0 }] : [{ type: 'A', address: REFUSED, ttl: 0 }]));
    await dns.start();

    stops.push(
      await startHttps(GOOD, leaf, (request, response) => {
        const path = (request.url ?? '/').split('?')[0] ?? '/';
        hits.set(path, (hits.get(path) ?? 0) + 1);
        switch (path) {
          case '/ok':
            response.setHeader('content-type', 'text/xml');
            return response.end('<ok/>');
          case '/big':
            return void streamBytes(response, 20 * 1024 * 1024).then((written) => serverEvents.emit('big-ended', written));
          case '/declared-big':
            response.setHeader('content-length', String(20 * 1024 * 1024));
            return response.write('x');
          case '/drip': {
            response.writeHead(200);
            serverEvents.emit('drip-started');
            // The slow drip is the behaviour under test: a byte every 100 ms, never an end.
            const timer = setInterval(() => response.write('.'), 100);
            response.on('close', () => clearInterval(timer));
            return;
          }
          case '/gzip':
            response.setHeader('content-encoding', 'gzip');
            return response.end(Buffer.from([0x1f, 0x8b]));
          case '/loop':
            hits.set('loop-total', (hits.get('loop-total') ?? 0) + 1);
            response.writeHead(302, { location: '/loop' });
            return response.end();
          case '/three':
            response.writeHead(301, { location: '/two' });
            return response.end();
          case '/two':
            response.writeHead(307, { location: 'https://alias.h.test/one' });
            return response.end();
          case '/one':
            response.writeHead(308, { location: '/ok' });
            return response.end();
          case '/to-http':
            response.writeHead(302, { location: 'http://plain.h.test/ok' });
            return response.end();
          case '/to-blocked':
            response.writeHead(302, { location: 'https://blocked.h.test/ok' });
            return response.end();
          case '/to-ip':
            response.writeHead(302, { location: 'https://0x7f.1/ok' });
            return response.end();
          case '/to-port':
            response.writeHead(302, { location: 'https://good.h.test:8443/ok' });
            return response.end();
          case '/to-creds':
            response.writeHead(302, { location: 'https://user:pw@good.h.test/ok' });
            return response.end();
          case '/500':
            response.writeHead(500);
            return response.end('no');
          case '/echo': {
            let received = '';
            request.on('data', (chunk: Buffer) => (received += chunk.toString()));
            request.on('end', () => {
              response.setHeader('content-type', 'text/plain');
              response.end(`${request.method} ${request.headers['content-type'] ?? '-'} ${received}`);
            });
            return;
          }
          case '/post-307':
            response.writeHead(307, { location: '/echo' });
            return response.end();
          case '/post-302':
            response.writeHead(302, { location: '/echo' });
            return response.end();
          default:
            response.writeHead(404);
            return response.end();
        }
      }),
    );
    dns.set('alias.h.test', [{ type: 'A', address: GOOD }]);
    stops.push(await startHttps('127.0.1.13', wrongName, (_request, response) => response.end('<ok/>')));
    stops.push(
      await startHttp(PLAIN, (_request, response) => {
        plainRequests += 1;
        response.end('<plain/>');
      }),
    );
    refused = await startSilent(REFUSED);
    hang = await startSilent(HANG);
    network = new Network(new DnsResolver({ servers: [dns.server], timeoutMs: 300, tries: 1 }), new AddressPolicy(['127.0.1.0/24']));
    client = new HttpClient({ network, timeoutMs: TIMEOUT_MS, ca: ca.cert });
    untrustingClient = new HttpClient({ network, timeoutMs: TIMEOUT_MS });
  });

  after(async () => {
    await client.close();
    await untrustingClient.close();
    for (const started of [...stops, refused, hang]) await started.stop();
    await dns.stop();
    ca.dispose();
  });

  it('fetches over HTTPS with a certificate from the configured CA', async () => {
    const result = await client.get('https://good.h.test/ok');
    assert.deepEqual(result, { ok: true, status: 200, body: '<ok/>', url: 'https://good.h.test/ok', contentType: 'text/xml', redirects: 0, dnsTtlS: 300 });
  });

  it('POSTs a body with its content type; 307 repeats the POST, 302 continues as a GET without the body (fetch standard)', async () => {
    const direct = await client.post('https://good.h.test/echo', '<Autodiscover/>', { contentType: 'text/xml' });
    assert.equal(direct.ok && direct.body, 'POST text/xml <Autodiscover/>');
    const kept = await client.post('https://good.h.test/post-307', '<a/>', { contentType: 'text/xml' });
    assert.equal(kept.ok && kept.body, 'POST text/xml <a/>');
    const downgraded = await client.post('https://good.h.test/post-302', '<a/>', { contentType: 'text/xml' });
    assert.equal(downgraded.ok && downgraded.body, 'GET - ');
  });

  it("with redirect: 'manual' answers the 3xx with its resolved Location and never fetches the target", async () => {
    const before = hits.get('/two') ?? 0;
    const result = await client.get('https://good.h.test/three', { redirect: 'manual' });
    assert.ok(result.ok);
    assert.equal(result.status, 301);
    assert.equal(result.location, 'https://good.h.test/two');
    assert.equal(hits.get('/two') ?? 0, before);
  });

  it('refuses a certificate from an unknown CA (system store only) and one for another name', async () => {
    const unknown = await untrustingClient.get('https://good.h.test/ok');
    assert.equal(unknown.ok || unknown.code, 'tls_error');
    const mismatch = await client.get('https://wrongcert.h.test/ok');
    assert.equal(mismatch.ok || mismatch.code, 'tls_error');
  });

  it('cuts a 20 MB body at the 256 KiB cap while streaming', async () => {
    const started = performance.now();
    const ended = once(serverEvents, 'big-ended');
    const result = await client.get('https://good.h.test/big');
    assert.equal(result.ok || result.code, 'too_large');
    assert.ok(performance.now() - started < TIMEOUT_MS);
    // The server's side ends when the client has gone: how much it managed to write by then.
    const [written] = (await ended) as [number];
    assert.ok(written < 8 * 1024 * 1024, `server wrote ${written} bytes before being cut off`);
  });

  it('refuses a declared over-size body before reading it', async () => {
    const result = await client.get('https://good.h.test/declared-big');
    assert.equal(result.ok || result.code, 'too_large');
  });

  it('bounds a slow-drip body by the total timeout', async () => {
    const started = performance.now();
    const result = await client.get('https://good.h.test/drip');
    const elapsed = performance.now() - started;
    assert.equal(result.ok || result.code, 'timeout');
    assert.ok(elapsed >= TIMEOUT_MS - 50 && elapsed < TIMEOUT_MS + 500, `took ${elapsed} ms`);
  });

  it('bounds a server that accepts and never answers', async () => {
    const started = performance.now();
    const result = await client.get('https://hang.h.test/mail/config-v1.1.xml');
    const elapsed = performance.now() - started;
    assert.equal(result.ok || result.code, 'timeout');
    assert.ok(elapsed < TIMEOUT_MS + 500, `took ${elapsed} ms`);
    assert.ok(hang.connections >= 1);
  });

  it('refuses any content-encoding', async () => {
    const result = await client.get('https://good.h.test/gzip');
    assert.equal(result.ok || result.code, 'encoding_refused');
  });

  it('follows three redirects, re-resolving each host', async () => {
    const result = await client.get('https://good.h.test/three');
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.url, 'https://alias.h.test/ok');
    assert.equal(result.redirects, 3);
  });

  it('stops after three redirects', async () => {
    hits.delete('loop-total');
    const result = await client.get('https://good.h.test/loop');
    assert.equal(result.ok || result.code, 'too_many_redirects');
    assert.equal(hits.get('loop-total'), 4, 'the first request plus three redirects, no more');
  });

  it('never follows https to http', async () => {
    const before = plainRequests;
    const result = await client.get('https://good.h.test/to-http');
    assert.equal(result.ok || result.code, 'redirect_refused');
    assert.equal(plainRequests, before, 'the http target was never asked');
  });

  it('refuses a redirect to a host resolving to a refused address, which is never contacted', async () => {
    const before = refused.connections;
    const result = await client.get('https://good.h.test/to-blocked');
    assert.equal(result.ok || result.code, 'blocked');
    assert.equal(refused.connections, before);
  });

  it('refuses redirects to IP literals in odd notation, other ports and URLs with credentials', async () => {
    for (const path of ['/to-ip', '/to-port']) {
      const result = await client.get(`https://good.h.test${path}`);
      assert.equal(result.ok || result.code, 'blocked', path);
    }
    const creds = await client.get('https://good.h.test/to-creds');
    assert.equal(creds.ok || creds.code, 'invalid_url');
  });

  it('refuses a host resolving to a refused address (v4 or v4-mapped v6) and never connects to it', async () => {
    const before = refused.connections;
    for (const host of ['blocked.h.test', 'v6blocked.h.test']) {
      const result = await client.get(`https://${host}/ok`);
      assert.equal(result.ok || result.code, 'blocked', host);
    }
    const literal = await client.get('https://127.0.2.200/ok');
    assert.equal(literal.ok || literal.code, 'blocked');
    // Read once the fetches have finished: the policy refused before any socket was opened.
    assert.equal(refused.connections, before);
  });

  it('refuses a host when any one of its addresses is refused', async () => {
    const before = refused.connections;
    const result = await client.get('https://mixed.h.test/ok');
    assert.equal(result.ok || result.code, 'blocked');
    assert.equal(refused.connections, before);
  });

  it('connects to the address it checked: a rebinding answer cannot redirect the socket', async () => {
    const fresh = new HttpClient({ network, timeoutMs: TIMEOUT_MS, ca: ca.cert });
    const before = refused.connections;
    const first = await fresh.get('https://rebind.h.test/ok');
    assert.ok(first.ok, JSON.stringify(first));
    await fresh.close();
    // The name now resolves to the refused address: the next connection is refused, not made.
    const again = new HttpClient({ network, timeoutMs: TIMEOUT_MS, ca: ca.cert });
    const second = await again.get('https://rebind.h.test/ok');
    assert.equal(second.ok || second.code, 'blocked');
    await again.close();
    assert.equal(refused.connections, before);
  });

  it('reports DNS SERVFAIL, a DNS timeout and a missing name as values', async () => {
    const servfail = await client.get('https://servfail.h.test/ok');
    assert.equal(servfail.ok || servfail.code, 'dns_failed');
    const started = performance.now();
    const timeout = await client.get('https://dnstimeout.h.test/ok');
    assert.ok(timeout.ok === false && (timeout.code === 'dns_failed' || timeout.code === 'timeout'), JSON.stringify(timeout));
    assert.ok(performance.now() - started < TIMEOUT_MS + 500);
    const missing = await client.get('https://missing.h.test/ok');
    assert.equal(missing.ok || missing.code, 'no_such_host');
  });

  it('reports HTTP errors with their status', async () => {
    const result = await client.get('https://good.h.test/500');
    assert.ok(!result.ok && result.code === 'http_error' && result.status === 500);
  });

  it('stops at once when the caller aborts', async () => {
    const controller = new AbortController();
    // Aborted once the server has started its slow answer, long before the total timeout.
    let abortedAt = 0;
    void once(serverEvents, 'drip-started').then(() => {
      abortedAt = performance.now();
      controller.abort();
    });
    const result = await client.get('https://good.h.test/drip', { signal: controller.signal });
    assert.equal(result.ok || result.code, 'aborted');
    assert.ok(abortedAt > 0, 'the abort came while the body was dripping');
    assert.ok(performance.now() - abortedAt < 400, `ended ${Math.round(performance.now() - abortedAt)} ms after the abort`);
  });

  it('fetches plain HTTP when asked (the http-autoconfig source marks it untrusted)', async () => {
    const result = await client.get('http://plain.h.test/mail/config-v1.1.xml');
    assert.ok(result.ok && result.body === '<plain/>');
  });
});
