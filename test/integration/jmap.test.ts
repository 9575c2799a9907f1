import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { LookupSubject } from '../../src/api/input.js';
import { Network } from '../../src/net/connect.js';
import { DnsResolver } from '../../src/net/dns.js';
import { HttpClient } from '../../src/net/http.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { createJmapSource } from '../../src/sources/jmap.js';
import type { Source, SourceResult } from '../../src/sources/types.js';
import { TestDnsServer, type ZoneRecord } from '../helpers/dns-server.js';
import { startHttps, startSilent, type Started } from '../helpers/servers.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

// Loopback world of this file (127.0.5.0/24 only): DNS 127.0.5.2; the well-known web server
// 127.0.5.20:443; the session resource the redirects point at 127.0.5.21:443 (counts connections
// and requests: it must never be fetched); 127.0.5.200 lies outside the allow-list 127.0.5.0/25 and
// its listener counts connections.
const DNS = '127.0.5.2';
const WEB = '127.0.5.20';
const SESSION = '127.0.5.21';
const REFUSED = '127.0.5.200';
const ALLOW = '127.0.5.0/25';

const A = (address: string): ZoneRecord[] => [{ type: 'A', address, ttl: 60 }];
const log = { debug() {}, info() {}, warn() {}, error() {} };
const wellKnownOf = (host: string) => `https://${host}/.well-known/jmap`;

describe('JMAP source against real HTTPS and DNS (loopback)', () => {
  let ca: TestCa;
  const dns = new TestDnsServer(DNS);
  const started: Started<unknown>[] = [];
  let refused: Awaited<ReturnType<typeof startSilent>>;
  let source: Source;
  const session = { connections: 0, requests: 0 };
  const webSeen: string[] = [];

  before(async () => {
    ca = createTestCa();
    const webNames = ['redir.j.test', 'jmap.srv.j.test', 'auth.j.test', 'downgrade.j.test', 'none.j.test'];
    for (const name of webNames) dns.set(name, A(WEB));
    dns.set('session.j.test', A(SESSION));
    dns.set('blocked.j.test', A(REFUSED));
    dns.set('_jmap._tcp.srv.j.test', [{ type: 'SRV', target: 'jmap.srv.j.test', port: 443, priority: 0, weight: 0 }]);
    await dns.start();

    const web: http.RequestListener = (request, response) => {
      const host = (request.headers.host ?? '').toLowerCase();
      webSeen.push(`${host}${request.url} accept=${request.headers.accept}`);
      if (request.url !== '/.well-known/jmap') {
        response.writeHead(404);
        return response.end();
      }
      if (host === 'redir.j.test') {
        response.writeHead(307, { location: 'https://session.j.test/jmap/session' });
        return response.end();
      }
      if (host === 'jmap.srv.j.test') {
        response.writeHead(302, { location: '/api/session' });
        return response.end();
      }
      if (host === 'auth.j.test') {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="jmap"' });
        return response.end();
      }
      if (host === 'downgrade.j.test') {
        response.writeHead(301, { location: 'http://session.j.test/jmap/session' });
        return response.end();
      }
      response.writeHead(404);
      response.end();
    };
    started.push(await startHttps(WEB, ca.issue(webNames), web));
    // A working session resource: were the redirect followed, it would answer with a session object.
    const target = await startHttps(SESSION, ca.issue(['session.j.test']), (_request, response) => {
      session.requests += 1;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ capabilities: { 'urn:ietf:params:jmap:core': {} } }));
    });
    target.server.on('connection', () => {
      session.connections += 1;
    });
    started.push(target);
    refused = await startSilent(REFUSED, 443);

    const network = new Network(new DnsResolver({ servers: [dns.server], timeoutMs: 300, tries: 1 }), new AddressPolicy([ALLOW]));
    const httpClient = new HttpClient({ network, timeoutMs: 1000, ca: ca.cert });
    source = createJmapSource({ http: httpClient, dns: network.dns });
  });

  after(async () => {
    for (const server of [...started, refused]) await server?.stop();
    await dns.stop();
    ca?.dispose();
  });

  const lookup = (domain: string): Promise<SourceResult> => {
    const subject: LookupSubject = { domain, email: `jane@${domain}`, localPart: 'jane' };
    return source.lookup({ subject, signal: new AbortController().signal, log });
  };

  it('answers with the redirect target and never fetches it (the session server saw 0 connections and 0 requests)', async () => {
    const seenBefore = { ...session };
    const result = await lookup('redir.j.test');
    assert.equal(result.outcome, 'not-found');
    assert.deepEqual(result.alternatives, [
      { kind: 'jmap', url: 'https://session.j.test/jmap/session', source: `jmap:${wellKnownOf('redir.j.test')}`, trusted: true },
    ]);
    assert.ok(webSeen.includes('redir.j.test/.well-known/jmap accept=application/json'));
    assert.deepEqual(session, seenBefore);
    assert.deepEqual(seenBefore, { connections: 0, requests: 0 });
  });

  it('follows _jmap._tcp to its target and resolves a relative Location against it', async () => {
    const result = await lookup('srv.j.test');
    assert.deepEqual(result.alternatives, [
      { kind: 'jmap', url: 'https://jmap.srv.j.test/api/session', source: `jmap:${wellKnownOf('jmap.srv.j.test')}`, trusted: true },
    ]);
    assert.equal(dns.count('_jmap._tcp.srv.j.test'), 1);
  });

  it('reports a 401 at the well-known URL as that URL', async () => {
    const result = await lookup('auth.j.test');
    assert.deepEqual(result.alternatives?.map((entry) => entry.url), [wellKnownOf('auth.j.test')]);
  });

  it('refuses a redirect to http and never fetches its target', async () => {
    const seenBefore = { ...session };
    const result = await lookup('downgrade.j.test');
    assert.equal(result.outcome, 'error');
    assert.equal(result.outcome === 'error' && result.error, 'redirect_refused');
    assert.equal(result.alternatives, undefined);
    assert.deepEqual(session, seenBefore);
  });

  it('is not-found without alternatives on a 404', async () => {
    const result = await lookup('none.j.test');
    assert.equal(result.outcome, 'not-found');
    assert.equal(result.alternatives, undefined);
    assert.match(result.detail ?? '', /HTTP 404/);
  });

  it('is blocked for a host outside the allowed range, whose listener saw 0 connections', async () => {
    const result = await lookup('blocked.j.test');
    assert.equal(result.outcome, 'blocked');
    assert.equal(result.url, wellKnownOf('blocked.j.test'));
    // Read once the lookup has finished: a connection, had one been made, would have been accepted by now.
    assert.equal(refused.connections, 0);
  });

  it('never sends the email address anywhere', async () => {
    const webBefore = webSeen.length;
    const dnsBefore = dns.queries.length;
    for (const domain of ['redir.j.test', 'srv.j.test', 'auth.j.test', 'none.j.test']) await lookup(domain);
    const web = webSeen.slice(webBefore);
    const questions = dns.queries.slice(dnsBefore);
    assert.ok(web.length >= 4 && questions.length >= 4, `${web.length} requests, ${questions.length} DNS questions`);
    assert.ok(!web.some((line) => line.includes('jane')), web.join('\n'));
    assert.ok(!questions.some((query) => query.name.includes('jane')));
  });
});
