import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { paccTxtValue } from '../../src/formats/pacc-json.js';
import { Network } from '../../src/net/connect.js';
import { DnsResolver } from '../../src/net/dns.js';
import { HttpClient } from '../../src/net/http.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { createPaccSource } from '../../src/sources/pacc.js';
import type { Source, SourceContext } from '../../src/sources/types.js';
import { dnsmasqAvailable, startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq.js';
import { startHttps, type Started } from '../helpers/servers.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

// Loopback world of this file (127.0.4.0/24 only): dnsmasq on 127.0.4.53:5404 serving the A and
// TXT records; the PACC web server on 127.0.4.40:443. The source is not wired into the app yet, so
// it is built here with a real resolver pointing at dnsmasq and a real HTTP client (test CA).
const WEB = '127.0.4.40';

const documentFor = (domain: string) =>
  Buffer.from(
    JSON.stringify({
      protocols: { imap: { host: `imap.${domain}` }, pop3: { host: `pop.${domain}` }, smtp: { host: `smtp.${domain}` } },
      authentication: { password: true },
      info: { provider: { name: 'E2E Mail' } },
    }),
  );

describe('PACC source with a real dnsmasq', { skip: !dnsmasqAvailable() && 'needs dnsmasq and root' }, () => {
  let ca: TestCa;
  let dnsmasq: Dnsmasq;
  let web: Started<unknown>;
  let resolver: DnsResolver;
  let source: Source;
  const log = { debug() {}, info() {}, warn() {}, error() {} };
  const context = (domain: string): SourceContext => ({ subject: { domain, email: null, localPart: null }, signal: new AbortController().signal, log });

  before(async () => {
    ca = createTestCa('pacc e2e CA');
    const names = ['ua-auto-config.pacc.e2e4.test', 'ua-auto-config.bad.e2e4.test'];
    dnsmasq = await startDnsmasq('127.0.4.53', 5404, {
      local: ['e2e4.test'],
      hosts: Object.fromEntries(names.map((name) => [name, WEB])),
      txt: [
        ['_ua-auto-config.pacc.e2e4.test', paccTxtValue(documentFor('pacc.e2e4.test'))],
        // The digest of another document than the one served.
        ['_ua-auto-config.bad.e2e4.test', paccTxtValue(documentFor('elsewhere.e2e4.test'))],
      ],
    });
    const handler: http.RequestListener = (request, response) => {
      const host = (request.headers.host ?? '').toLowerCase();
      if (names.includes(host) && request.url === '/.well-known/user-agent-configuration.json') {
        response.setHeader('content-type', 'application/json');
        return response.end(documentFor(host.replace(/^ua-auto-config\./, '')));
      }
      response.writeHead(404);
      response.end();
    };
    web = await startHttps(WEB, ca.issue(names), handler);
    resolver = new DnsResolver({ servers: [dnsmasq.server], timeoutMs: 1000, tries: 1 });
    const network = new Network(resolver, new AddressPolicy(['127.0.4.0/24']));
    source = createPaccSource({ http: new HttpClient({ network, timeoutMs: 3000, ca: ca.cert }), dns: resolver });
  });

  after(async () => {
    resolver?.cancel();
    await web?.stop();
    await dnsmasq?.stop();
    ca?.dispose();
  });

  it('finds a PACC-only domain: IMAP, POP3 and SMTP on implicit TLS, trusted, from the PACC URL', async () => {
    const result = await source.lookup(context('pacc.e2e4.test'));
    assert.equal(result.outcome, 'found', `${JSON.stringify(result)}\n${dnsmasq.log()}`);
    assert.ok(result.outcome === 'found');
    const url = 'https://ua-auto-config.pacc.e2e4.test/.well-known/user-agent-configuration.json';
    assert.deepEqual(
      result.servers.map((server) => [server.protocol, server.host, server.port, server.security, server.source, server.trusted]),
      [
        ['imap', 'imap.pacc.e2e4.test', 993, 'tls', `pacc:${url}`, true],
        ['pop3', 'pop.pacc.e2e4.test', 995, 'tls', `pacc:${url}`, true],
        ['smtp', 'smtp.pacc.e2e4.test', 465, 'tls', `pacc:${url}`, true],
      ],
    );
    assert.match(result.detail ?? '', /E2E Mail/);
  });

  it('blocks a domain whose TXT digest does not match the document (pacc_digest_mismatch)', async () => {
    const result = await source.lookup(context('bad.e2e4.test'));
    assert.ok(result.outcome === 'blocked' && result.error === 'pacc_digest_mismatch', JSON.stringify(result));
  });
});
