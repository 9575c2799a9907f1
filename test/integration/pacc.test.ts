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
import { TestDnsServer, type ZoneRecord } from '../helpers/dns-server.js';
import { startHttps, startSilent, type Started } from '../helpers/servers.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

// Loopback world of this file (127.0.4.0/24 only): DNS 127.0.4.3:53; the PACC web server
// 127.0.4.20:443; 127.0.4.201 lies outside the allowed 127.0.4.0/25 and its listener counts connections.
const DNS = '127.0.4.3';
const WEB = '127.0.4.20';
const REFUSED = '127.0.4.201';

const A = (address: string): ZoneRecord[] => [{ type: 'A', address, ttl: 120 }];
const TXT = (...values: (string | string[])[]): ZoneRecord[] => values.map((data) => ({ type: 'TXT', data }));

const documentFor = (domain: string) =>
  Buffer.from(
    JSON.stringify({
      protocols: {
        imap: { host: `imap.${domain}` },
        smtp: { host: `smtp.${domain}` },
        jmap: { url: `https://jmap.${domain}/session` },
      },
      authentication: { password: true, 'oauth-public': { issuer: `https://auth.${domain}` } },
      info: { provider: { name: 'PACC Test Mail' } },
    }),
  );

describe('PACC source against in-process HTTPS and DNS on loopback', () => {
  let ca: TestCa;
  const dns = new TestDnsServer(DNS);
  const started: Started<unknown>[] = [];
  let refused: Awaited<ReturnType<typeof startSilent>>;
  const seen: string[] = [];
  let source: Source;
  const log = { debug() {}, info() {}, warn() {}, error() {} };
  const context = (domain: string): SourceContext => ({ subject: { domain, email: `jane.doe@${domain}`, localPart: 'jane.doe' }, signal: new AbortController().signal, log });

  const documents = new Map<string, Buffer>();

  before(async () => {
    ca = createTestCa('pacc integration CA');
    const domains = ['only.p.test', 'mismatch.p.test', 'notxt.p.test', 'split.p.test'];
    for (const domain of domains) {
      documents.set(`ua-auto-config.${domain}`, documentFor(domain));
      dns.set(`ua-auto-config.${domain}`, A(WEB));
    }
    dns.set('_ua-auto-config.only.p.test', TXT('v=spf1 -all', paccTxtValue(documentFor('only.p.test'))));
    // The digest of a document other than the one served.
    dns.set('_ua-auto-config.mismatch.p.test', TXT(paccTxtValue(documentFor('other.p.test'))));
    // A long record split into two character-strings: the reader joins them.
    const splitValue = paccTxtValue(documentFor('split.p.test'));
    dns.set('_ua-auto-config.split.p.test', TXT([splitValue.slice(0, 30), splitValue.slice(30)]));
    dns.set('ua-auto-config.blocked.p.test', A(REFUSED));
    dns.set('_ua-auto-config.blocked.p.test', TXT(paccTxtValue(documentFor('blocked.p.test'))));
    await dns.start();

    const web: http.RequestListener = (request, response) => {
      const host = (request.headers.host ?? '').toLowerCase();
      seen.push(`${host}${request.url} accept=${request.headers.accept}`);
      const body = documents.get(host);
      if (body && request.url === '/.well-known/user-agent-configuration.json') {
        response.setHeader('content-type', 'application/json');
        return response.end(body);
      }
      response.writeHead(404);
      response.end();
    };
    started.push(await startHttps(WEB, ca.issue([...documents.keys()]), web));
    refused = await startSilent(REFUSED, 443);
    started.push(refused);

    const network = new Network(new DnsResolver({ servers: [dns.server], timeoutMs: 500, tries: 1 }), new AddressPolicy(['127.0.4.0/25']));
    source = createPaccSource({ http: new HttpClient({ network, timeoutMs: 2000, ca: ca.cert }), dns: network.dns });
  });

  after(async () => {
    await Promise.all(started.map((server) => server.stop()));
    await dns.stop();
    ca.dispose();
  });

  it('finds a domain that publishes only PACC, with a complete, trusted answer and no address sent', async () => {
    const result = await source.lookup(context('only.p.test'));
    assert.equal(result.outcome, 'found', JSON.stringify(result));
    assert.ok(result.outcome === 'found');
    const url = 'https://ua-auto-config.only.p.test/.well-known/user-agent-configuration.json';
    assert.equal(result.url, url);
    assert.deepEqual(
      result.servers.map((server) => [server.protocol, server.host, server.port, server.security, server.username, server.authentication, server.source, server.trusted]),
      [
        ['imap', 'imap.only.p.test', 993, 'tls', '%EMAILADDRESS%', ['password-cleartext', 'oauth2'], `pacc:${url}`, true],
        ['smtp', 'smtp.only.p.test', 465, 'tls', '%EMAILADDRESS%', ['password-cleartext', 'oauth2'], `pacc:${url}`, true],
      ],
    );
    assert.match(result.detail ?? '', /digest verified/);
    assert.match(result.detail ?? '', /OAuth issuer https:\/\/auth\.only\.p\.test\//);
    // oauth-public names only the issuer: the endpoints come from its metadata (RFC 8414).
    assert.deepEqual(result.servers[0]?.oauth2, { issuer: 'https://auth.only.p.test/', authorizationEndpoint: null, tokenEndpoint: null, scopes: [], source: `pacc:${url}` });
    assert.ok(result.ttlS !== undefined && result.ttlS >= 60);
    const request = seen.find((line) => line.startsWith('ua-auto-config.only.p.test'));
    assert.equal(request, 'ua-auto-config.only.p.test/.well-known/user-agent-configuration.json accept=application/json');
    assert.doesNotMatch(seen.join('\n'), /jane/);
  });

  it('turns the JMAP entry into a trusted alternative', async () => {
    const result = await source.lookup(context('only.p.test'));
    assert.deepEqual(result.alternatives, [
      { kind: 'jmap', url: 'https://jmap.only.p.test/session', source: 'pacc:https://ua-auto-config.only.p.test/.well-known/user-agent-configuration.json', trusted: true },
    ]);
  });

  it('verifies a digest published as a TXT record split into several strings', async () => {
    const result = await source.lookup(context('split.p.test'));
    assert.equal(result.outcome, 'found', JSON.stringify(result));
  });

  it('blocks a document whose digest does not match (pacc_digest_mismatch), returning no servers', async () => {
    const result = await source.lookup(context('mismatch.p.test'));
    assert.ok(result.outcome === 'blocked', JSON.stringify(result));
    assert.equal(result.error, 'pacc_digest_mismatch');
    assert.equal(result.url, 'https://ua-auto-config.mismatch.p.test/.well-known/user-agent-configuration.json');
    assert.equal(result.alternatives, undefined);
  });

  it('blocks a document without a TXT record (pacc_digest_missing)', async () => {
    const result = await source.lookup(context('notxt.p.test'));
    assert.ok(result.outcome === 'blocked', JSON.stringify(result));
    assert.equal(result.error, 'pacc_digest_missing');
    assert.match(result.detail ?? '', /_ua-auto-config\.notxt\.p\.test has no TXT record/);
  });

  it('is not-found for a domain without a PACC host', async () => {
    const result = await source.lookup(context('absent.p.test'));
    assert.equal(result.outcome, 'not-found', JSON.stringify(result));
  });

  it('blocks a PACC host that resolves outside the allowed range, never connecting to it', async () => {
    const before = refused.connections;
    const result = await source.lookup(context('blocked.p.test'));
    // Read once the lookup has finished: nothing may have reached the refused listener.
    const connections = refused.connections - before;
    assert.equal(result.outcome, 'blocked', JSON.stringify(result));
    assert.match(result.detail ?? '', /refused address/);
    assert.equal(connections, 0);
  });
});
