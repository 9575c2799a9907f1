import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { LookupSubject } from '../../src/api/input.js';
import { Network } from '../../src/net/connect.js';
import { DnsResolver } from '../../src/net/dns.js';
import { HttpClient } from '../../src/net/http.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { createAutodiscoverSource } from '../../src/sources/autodiscover.js';
import type { Source, SourceResult } from '../../src/sources/types.js';
import { TestDnsServer, type ZoneRecord } from '../helpers/dns-server.js';
import { startHttp, startHttps, startSilent, type SilentServer, type Started } from '../helpers/servers.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

// Loopback world of this file (127.0.3.0/24 only): DNS 127.0.3.3:53; the Autodiscover web server
// 127.0.3.20 (:443, and :80 to catch any plain-http request); a host that accepts and never
// answers 127.0.3.22:443; 127.0.3.201 is outside the allowed 127.0.3.0/25 and counts connections.
const DNS = '127.0.3.3';
const WEB = '127.0.3.20';
const HANG = '127.0.3.22';
const REFUSED = '127.0.3.201';
const HTTP_TIMEOUT_MS = 1000;
const PATH = '/autodiscover/autodiscover.xml';

const A = (address: string): ZoneRecord[] => [{ type: 'A', address, ttl: 120 }];
const log = { debug() {}, info() {}, warn() {}, error() {} };
const user = (email: string): LookupSubject => {
  const at = email.lastIndexOf('@');
  return { domain: email.slice(at + 1), email, localPart: email.slice(0, at) };
};

const account = (inner: string) => `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
<Account><AccountType>email</AccountType>${inner}</Account></Response></Autodiscover>`;
const settings = (base: string) =>
  account(`<Action>settings</Action>
<Protocol><Type>IMAP</Type><Server>imap.${base}</Server><Port>993</Port><SSL>on</SSL><SPA>off</SPA><LoginName>someone-else</LoginName></Protocol>
<Protocol><Type>SMTP</Type><Server>smtp.${base}</Server><Port>587</Port><SSL>on</SSL></Protocol>`);
const redirectUrl = (url: string) => account(`<Action>redirectUrl</Action><RedirectUrl>${url}</RedirectUrl>`);
const redirectAddr = (address: string) => account(`<Action>redirectAddr</Action><RedirectAddr>${address}</RedirectAddr>`);

interface Seen {
  host: string;
  path: string;
  method: string;
  contentType: string;
  body: string;
}

describe('Autodiscover source against in-process HTTPS and DNS servers', () => {
  let ca: TestCa;
  const dns = new TestDnsServer(DNS);
  const started: Started<unknown>[] = [];
  let hang: SilentServer;
  let refused: SilentServer;
  const seen: Seen[] = [];
  const plainRequests: string[] = [];
  let resolver: DnsResolver;
  let source: Source;

  /** The answers of the web server, by host and path. */
  const answers = new Map<string, string>([
    [`autodiscover.only.ad3.test${PATH}`, settings('only.ad3.test')],
    [`autodiscover.chain.ad3.test${PATH}`, redirectUrl(`https://hop1.ad3.test${PATH}`)],
    [`hop1.ad3.test${PATH}`, redirectUrl(`https://hop2.ad3.test/autodiscover/hop2.xml`)],
    [`hop2.ad3.test/autodiscover/hop2.xml`, settings('chain.ad3.test')],
    [`autodiscover.many.ad3.test${PATH}`, redirectUrl(`https://hop1.many.ad3.test${PATH}`)],
    [`hop1.many.ad3.test${PATH}`, redirectUrl(`https://hop2.many.ad3.test${PATH}`)],
    [`hop2.many.ad3.test${PATH}`, redirectUrl(`https://hop3.many.ad3.test${PATH}`)],
    [`hop3.many.ad3.test${PATH}`, settings('many.ad3.test')],
    [`autodiscover.loopa.ad3.test${PATH}`, redirectAddr('jane@loopb.ad3.test')],
    [`autodiscover.loopb.ad3.test${PATH}`, redirectAddr('jane@loopa.ad3.test')],
    [`ad.srv.ad3.test${PATH}`, settings('srv.ad3.test')],
    [`ad.hoster3.test${PATH}`, settings('hoster3.test')],
    [`exonly.ad3.test${PATH}`, account(`<Action>settings</Action><Protocol><Type>EXCH</Type><Server>ex.exonly.ad3.test</Server><EwsUrl>https://mail.exonly.ad3.test/EWS/Exchange.asmx</EwsUrl></Protocol>`)],
  ]);

  before(async () => {
    ca = createTestCa('autodiscover integration CA');
    const names = [...new Set([...answers.keys()].map((key) => key.slice(0, key.indexOf('/'))))];
    for (const name of names) dns.set(name, A(WEB));
    dns.set('autodiscover.hang.ad3.test', A(HANG));
    dns.set('autodiscover.blocked.ad3.test', A(REFUSED));
    dns.set('blocked.ad3.test', A(REFUSED));
    dns.set('_autodiscover._tcp.srv.ad3.test', [{ type: 'SRV', target: 'ad.srv.ad3.test', port: 443, priority: 0, weight: 0 }]);
    dns.set('_autodiscover._tcp.srvout.ad3.test', [
      { type: 'SRV', target: 'ad.hoster3.test', port: 8443, priority: 0, weight: 0 },
      { type: 'SRV', target: 'ad.hoster3.test', port: 443, priority: 1, weight: 0 },
    ]);
    await dns.start();

    const web: http.RequestListener = (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const host = (request.headers.host ?? '').toLowerCase();
        const path = request.url ?? '/';
        seen.push({ host, path, method: request.method ?? '', contentType: request.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString() });
        const answer = request.method === 'POST' ? answers.get(`${host}${path}`) : undefined;
        if (answer === undefined) {
          response.writeHead(404);
          response.end();
          return;
        }
        response.setHeader('content-type', 'text/xml; charset=utf-8');
        response.end(answer);
      });
    };
    started.push(await startHttps(WEB, ca.issue(names), web));
    started.push(
      await startHttp(WEB, (request, response) => {
        plainRequests.push(`${request.headers.host}${request.url}`);
        response.writeHead(404);
        response.end();
      }),
    );
    hang = await startSilent(HANG, 443);
    refused = await startSilent(REFUSED, 443);

    // Wired as src/app.ts wires the service: one resolver, one address policy, one HTTP client.
    resolver = new DnsResolver({ servers: [dns.server], timeoutMs: 300, tries: 1 });
    const network = new Network(resolver, new AddressPolicy(['127.0.3.0/25']));
    const client = new HttpClient({ network, timeoutMs: HTTP_TIMEOUT_MS, ca: ca.cert });
    source = createAutodiscoverSource({ http: client, dns: resolver });
  });

  after(async () => {
    for (const server of [...started, hang, refused]) await server.stop();
    await dns.stop();
    ca.dispose();
  });

  const lookup = (subject: LookupSubject, signal = new AbortController().signal): Promise<SourceResult> => source.lookup({ subject, signal, log });
  const bodiesFor = (host: string) => seen.filter((entry) => entry.host === host).map((entry) => entry.body);

  it('finds the servers of a domain that publishes only Autodiscover, POSTing the address as text/xml', async () => {
    const result = await lookup(user('jane@only.ad3.test'));
    assert.equal(result.outcome, 'found', JSON.stringify(result));
    assert.ok(result.outcome === 'found');
    assert.deepEqual(
      result.servers.map((server) => `${server.protocol} ${server.host}:${server.port} ${server.security} ${server.username}`),
      ['imap imap.only.ad3.test:993 tls %EMAILADDRESS%', 'smtp smtp.only.ad3.test:587 starttls %EMAILADDRESS%'],
    );
    const url = `https://autodiscover.only.ad3.test${PATH}`;
    assert.ok(result.servers.every((server) => server.source === `autodiscover:${url}` && server.trusted));
    assert.equal(result.url, url);
    assert.match(result.detail ?? '', /login name is per user/);
    const request = seen.find((entry) => entry.host === 'autodiscover.only.ad3.test');
    assert.equal(request?.method, 'POST');
    assert.equal(request?.contentType, 'text/xml; charset=utf-8');
    assert.match(request?.body ?? '', /<EMailAddress>jane@only\.ad3\.test<\/EMailAddress>/);
    // Privacy: answers are cached per domain and shared, so the report never names the address.
    assert.doesNotMatch(JSON.stringify(result), /jane|someone-else/);
  });

  it('asks about postmaster@<domain> when only a domain is given', async () => {
    const result = await lookup({ domain: 'only.ad3.test', email: null, localPart: null });
    assert.equal(result.outcome, 'found');
    assert.match(bodiesFor('autodiscover.only.ad3.test').at(-1) ?? '', /<EMailAddress>postmaster@only\.ad3\.test<\/EMailAddress>/);
  });

  it('follows a chain of two RedirectUrl answers, sending the same address to each host', async () => {
    const result = await lookup(user('jane@chain.ad3.test'));
    assert.equal(result.outcome, 'found', JSON.stringify(result));
    assert.ok(result.outcome === 'found');
    assert.equal(result.servers[0]?.host, 'imap.chain.ad3.test');
    assert.equal(result.servers[0]?.source, 'autodiscover:https://hop2.ad3.test/autodiscover/hop2.xml');
    assert.equal(result.url, 'https://hop2.ad3.test/autodiscover/hop2.xml');
    for (const host of ['autodiscover.chain.ad3.test', 'hop1.ad3.test', 'hop2.ad3.test']) {
      assert.match(bodiesFor(host).at(-1) ?? '', /<EMailAddress>jane@chain\.ad3\.test<\/EMailAddress>/, host);
    }
  });

  it('stops after two redirects with too_many_redirects, never asking the third hop', async () => {
    const result = await lookup(user('jane@many.ad3.test'));
    assert.equal(result.outcome, 'error');
    assert.equal(result.outcome === 'error' ? result.error : '', 'too_many_redirects');
    assert.equal(bodiesFor('hop2.many.ad3.test').length, 1);
    assert.equal(bodiesFor('hop3.many.ad3.test').length, 0);
  });

  it('stops a RedirectAddr loop with redirect_loop', async () => {
    const result = await lookup(user('jane@loopa.ad3.test'));
    assert.equal(result.outcome, 'error', JSON.stringify(result));
    assert.equal(result.outcome === 'error' ? result.error : '', 'redirect_loop');
    // Asked once each: loopa (original), loopb (first hop); the way back to loopa is not taken.
    assert.equal(bodiesFor('autodiscover.loopa.ad3.test').length, 1);
    assert.equal(bodiesFor('autodiscover.loopb.ad3.test').length, 1);
    assert.match(bodiesFor('autodiscover.loopb.ad3.test')[0] ?? '', /<EMailAddress>jane@loopb\.ad3\.test<\/EMailAddress>/);
    assert.doesNotMatch(JSON.stringify(result), /jane/);
  });

  it('asks the SRV target under the domain with the user address', async () => {
    const result = await lookup(user('jane@srv.ad3.test'));
    assert.equal(result.outcome, 'found', JSON.stringify(result));
    assert.ok(result.outcome === 'found');
    assert.equal(result.servers[0]?.source, `autodiscover:https://ad.srv.ad3.test${PATH}`);
    assert.match(bodiesFor('ad.srv.ad3.test').at(-1) ?? '', /<EMailAddress>jane@srv\.ad3\.test<\/EMailAddress>/);
  });

  it('sends postmaster@<domain>, not the user address, to an SRV target in another domain (port 443 record only)', async () => {
    const result = await lookup(user('jane@srvout.ad3.test'));
    assert.equal(result.outcome, 'found', JSON.stringify(result));
    const bodies = bodiesFor('ad.hoster3.test');
    assert.equal(bodies.length, 1);
    assert.match(bodies[0] ?? '', /<EMailAddress>postmaster@srvout\.ad3\.test<\/EMailAddress>/);
    assert.ok(seen.every((entry) => !(entry.host === 'ad.hoster3.test' && /jane/.test(entry.body))));
  });

  it('returns the EWS URL as an alternative when only Exchange is offered', async () => {
    const result = await lookup(user('jane@exonly.ad3.test'));
    assert.equal(result.outcome, 'not-found');
    assert.match(result.detail ?? '', /only Exchange/);
    assert.deepEqual(result.alternatives, [
      { kind: 'ews', url: 'https://mail.exonly.ad3.test/EWS/Exchange.asmx', source: `autodiscover:https://exonly.ad3.test${PATH}`, trusted: true },
    ]);
  });

  it('is blocked by the address policy for a host resolving outside the allowed range, without connecting to it', async () => {
    const result = await lookup(user('jane@blocked.ad3.test'));
    assert.equal(result.outcome, 'blocked', JSON.stringify(result));
    // Read after the lookup has finished: the policy refused before any socket was opened.
    assert.equal(refused.connections, 0);
  });

  it('stops when the signal is aborted, long before the HTTP timeout', async () => {
    const controller = new AbortController();
    // Aborted while the hanging host is being asked (its connection is open, no answer will come).
    let abortedAt = 0;
    void hang.nextConnection().then(() => {
      abortedAt = performance.now();
      controller.abort();
    });
    const startedAt = performance.now();
    const result = await lookup(user('jane@hang.ad3.test'), controller.signal);
    assert.equal(result.outcome, 'timeout', JSON.stringify(result));
    assert.ok(abortedAt > 0, 'the abort came while the hanging host was being asked');
    assert.ok(performance.now() - startedAt < HTTP_TIMEOUT_MS / 2, `took ${Math.round(performance.now() - startedAt)} ms`);
  });

  it('never makes a plain-http request, and every request it makes is a POST', async () => {
    const seenBefore = seen.length;
    const plainBefore = plainRequests.length;
    for (const subject of [user('jane@only.ad3.test'), { domain: 'only.ad3.test', email: null, localPart: null }, user('jane@chain.ad3.test'), user('jane@srv.ad3.test'), user('jane@exonly.ad3.test')]) {
      await lookup(subject);
    }
    const made = seen.slice(seenBefore);
    assert.ok(made.length >= 6, `${made.length} requests`);
    assert.deepEqual(plainRequests.slice(plainBefore), []);
    assert.ok(made.every((entry) => entry.method === 'POST'));
  });
});
