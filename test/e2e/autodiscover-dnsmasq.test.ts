import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Network } from '../../src/net/connect.js';
import { DnsResolver } from '../../src/net/dns.js';
import { HttpClient } from '../../src/net/http.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { createAutodiscoverSource } from '../../src/sources/autodiscover.js';
import type { Source } from '../../src/sources/types.js';
import { dnsmasqAvailable, startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq.js';
import { startHttp, startHttps, type Started } from '../helpers/servers.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

// Loopback world of this file (127.0.3.0/24 only): dnsmasq on 127.0.3.53:5403; the Autodiscover
// web server 127.0.3.40 (:443, and :80 to catch any plain-http request).
// The source is not wired into the app yet, so it is built here as src/app.ts builds the network:
// a real DnsResolver asking dnsmasq, the address policy, and a real HttpClient trusting the test CA.
const WEB = '127.0.3.40';
const PATH = '/autodiscover/autodiscover.xml';
const log = { debug() {}, info() {}, warn() {}, error() {} };

const answer = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <Protocol><Type>IMAP</Type><Server>imap.adonly.e2e3.test</Server><Port>993</Port><SSL>on</SSL><SPA>off</SPA><AuthRequired>on</AuthRequired><LoginName>jane@adonly.e2e3.test</LoginName></Protocol>
      <Protocol><Type>POP3</Type><Server>pop.adonly.e2e3.test</Server><Port>110</Port><Encryption>TLS</Encryption></Protocol>
      <Protocol><Type>SMTP</Type><Server>smtp.adonly.e2e3.test</Server><Port>465</Port><SSL>on</SSL><SPA>on</SPA></Protocol>
      <Protocol><Type>EXCH</Type><Server>ex.adonly.e2e3.test</Server><EwsUrl>https://mail.adonly.e2e3.test/EWS/Exchange.asmx</EwsUrl></Protocol>
    </Account>
  </Response>
</Autodiscover>`;

describe('Autodiscover source end to end: real dnsmasq, real HTTP client', { skip: !dnsmasqAvailable() && 'needs dnsmasq and root' }, () => {
  let ca: TestCa;
  let dnsmasq: Dnsmasq;
  let resolver: DnsResolver;
  let source: Source;
  const servers: Started<unknown>[] = [];
  const seen: { host: string; body: string }[] = [];
  const plain: string[] = [];

  before(async () => {
    ca = createTestCa('autodiscover e2e CA');
    dnsmasq = await startDnsmasq('127.0.3.53', 5403, {
      local: ['e2e3.test'],
      hosts: { 'autodiscover.adonly.e2e3.test': WEB, 'ad.srvonly.e2e3.test': WEB },
      srv: [['_autodiscover._tcp.srvonly.e2e3.test', 'ad.srvonly.e2e3.test', 443, 0, 0]],
    });
    const web: http.RequestListener = (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const host = (request.headers.host ?? '').toLowerCase();
        seen.push({ host, body: Buffer.concat(chunks).toString() });
        if (request.method === 'POST' && request.url === PATH) {
          response.setHeader('content-type', 'text/xml; charset=utf-8');
          return response.end(answer);
        }
        response.writeHead(404);
        response.end();
      });
    };
    servers.push(await startHttps(WEB, ca.issue(['autodiscover.adonly.e2e3.test', 'ad.srvonly.e2e3.test']), web));
    servers.push(
      await startHttp(WEB, (request, response) => {
        plain.push(`${request.headers.host}${request.url}`);
        response.writeHead(404);
        response.end();
      }),
    );
    resolver = new DnsResolver({ servers: [dnsmasq.server], timeoutMs: 500, tries: 1 });
    const network = new Network(resolver, new AddressPolicy(['127.0.3.0/24']));
    source = createAutodiscoverSource({ http: new HttpClient({ network, timeoutMs: 1000, ca: ca.cert }), dns: resolver });
  });

  after(async () => {
    for (const server of servers) await server.stop();
    resolver?.cancel();
    await dnsmasq?.stop();
    ca?.dispose();
  });

  it('finds an Autodiscover-only domain: IMAP, POP3 and SMTP mapped, EWS as alternative, no address reported', async () => {
    const result = await source.lookup({
      subject: { domain: 'adonly.e2e3.test', email: 'jane@adonly.e2e3.test', localPart: 'jane' },
      signal: new AbortController().signal,
      log,
    });
    assert.equal(result.outcome, 'found', JSON.stringify(result));
    assert.ok(result.outcome === 'found');
    const url = `https://autodiscover.adonly.e2e3.test${PATH}`;
    assert.deepEqual(
      result.servers.map((server) => [server.protocol, server.host, server.port, server.security, server.username, server.authentication.join(','), server.source]),
      [
        ['imap', 'imap.adonly.e2e3.test', 993, 'tls', '%EMAILADDRESS%', 'password-cleartext', `autodiscover:${url}`],
        ['pop3', 'pop.adonly.e2e3.test', 110, 'starttls', '%EMAILADDRESS%', 'password-cleartext', `autodiscover:${url}`],
        ['smtp', 'smtp.adonly.e2e3.test', 465, 'tls', '%EMAILADDRESS%', 'ntlm', `autodiscover:${url}`],
      ],
    );
    assert.deepEqual(result.alternatives, [{ kind: 'ews', url: 'https://mail.adonly.e2e3.test/EWS/Exchange.asmx', source: `autodiscover:${url}`, trusted: true }]);
    assert.equal(result.url, url);
    // dnsmasq's host-record TTL (60 s) bounds how long the answer may be cached.
    assert.equal(result.ttlS, 60);
    assert.doesNotMatch(JSON.stringify(result), /jane/);
    assert.match(seen.find((entry) => entry.host === 'autodiscover.adonly.e2e3.test')?.body ?? '', /<EMailAddress>jane@adonly\.e2e3\.test<\/EMailAddress>/);
  });

  it('finds a domain through its _autodiscover._tcp SRV record answered by dnsmasq', async () => {
    const result = await source.lookup({ subject: { domain: 'srvonly.e2e3.test', email: null, localPart: null }, signal: new AbortController().signal, log });
    assert.equal(result.outcome, 'found', JSON.stringify(result));
    assert.ok(result.outcome === 'found');
    assert.equal(result.servers[0]?.source, `autodiscover:https://ad.srvonly.e2e3.test${PATH}`);
    assert.match(seen.find((entry) => entry.host === 'ad.srvonly.e2e3.test')?.body ?? '', /<EMailAddress>postmaster@srvonly\.e2e3\.test<\/EMailAddress>/);
  });

  it('makes no plain-http request', async () => {
    const seenBefore = seen.length;
    const plainBefore = plain.length;
    await source.lookup({ subject: { domain: 'adonly.e2e3.test', email: 'jane@adonly.e2e3.test', localPart: 'jane' }, signal: new AbortController().signal, log });
    await source.lookup({ subject: { domain: 'srvonly.e2e3.test', email: null, localPart: null }, signal: new AbortController().signal, log });
    assert.ok(seen.length - seenBefore >= 2, 'both domains were asked over https');
    assert.deepEqual(plain.slice(plainBefore), []);
  });
});
