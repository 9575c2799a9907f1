import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LookupSubject } from '../../src/api/input.js';
import { Network } from '../../src/net/connect.js';
import { DnsResolver } from '../../src/net/dns.js';
import { HttpClient } from '../../src/net/http.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { createJmapSource } from '../../src/sources/jmap.js';
import type { Source, SourceResult } from '../../src/sources/types.js';
import { dnsmasqAvailable, startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq.js';
import { startHttps, startSilent, type Started } from '../helpers/servers.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

// Loopback world of this file (127.0.5.0/24 only): dnsmasq on 127.0.5.53:5405; the JMAP host's
// well-known server 127.0.5.30:443; the session host the redirect names 127.0.5.31:443, a listener
// that counts connections (it must never be reached).
const DNSMASQ_ADDRESS = '127.0.5.53';
const DNSMASQ_PORT = 5405;
const WEB = '127.0.5.30';
const SESSION = '127.0.5.31';
const log = { debug() {}, info() {}, warn() {}, error() {} };

describe('JMAP source end to end: real dnsmasq, real HttpClient', { skip: !dnsmasqAvailable() && 'needs dnsmasq and root' }, () => {
  let ca: TestCa;
  let dnsmasq: Dnsmasq;
  let web: Started<unknown>;
  let session: Awaited<ReturnType<typeof startSilent>>;
  let dns: DnsResolver;
  let source: Source;
  const seen: string[] = [];

  before(async () => {
    ca = createTestCa('mailsettings jmap e2e CA');
    dnsmasq = await startDnsmasq(DNSMASQ_ADDRESS, DNSMASQ_PORT, {
      local: ['e2e.test'],
      hosts: { 'jmap.dm.e2e.test': WEB, 'api.dm.e2e.test': SESSION, 'jmap.port.e2e.test': WEB },
      srv: [
        ['_jmap._tcp.dm.e2e.test', 'jmap.dm.e2e.test', 443, 0, 0],
        ['_jmap._tcp.port.e2e.test', 'jmap.port.e2e.test', 8443, 0, 0],
        ['_jmap._tcp.null.e2e.test'],
      ],
    });
    web = await startHttps(WEB, ca.issue(['jmap.dm.e2e.test', 'jmap.port.e2e.test']), (request, response) => {
      seen.push(`${request.headers.host}${request.url}`);
      if (request.url === '/.well-known/jmap') {
        response.writeHead(308, { location: 'https://api.dm.e2e.test/jmap/session' });
        return response.end();
      }
      response.writeHead(404);
      response.end();
    });
    session = await startSilent(SESSION, 443);
    dns = new DnsResolver({ servers: [dnsmasq.server], timeoutMs: 500, tries: 1 });
    const network = new Network(dns, new AddressPolicy(['127.0.5.0/24']));
    source = createJmapSource({ http: new HttpClient({ network, timeoutMs: 1000, ca: ca.cert }), dns });
  });

  after(async () => {
    for (const server of [web, session]) await server?.stop();
    dns?.cancel();
    await dnsmasq?.stop();
    ca?.dispose();
  });

  const lookup = (domain: string): Promise<SourceResult> => {
    const subject: LookupSubject = { domain, email: `jane@${domain}`, localPart: 'jane' };
    return source.lookup({ subject, signal: new AbortController().signal, log });
  };

  it('finds the session URL through the _jmap._tcp SRV target and never connects to it', async () => {
    // dm.e2e.test itself has no address: jmap.dm.e2e.test is known only from dnsmasq's SRV answer.
    const result = await lookup('dm.e2e.test');
    assert.equal(result.outcome, 'not-found');
    assert.deepEqual(result.alternatives, [
      { kind: 'jmap', url: 'https://api.dm.e2e.test/jmap/session', source: 'jmap:https://jmap.dm.e2e.test/.well-known/jmap', trusted: true },
    ]);
    assert.match(result.detail ?? '', /^JMAP session at https:\/\/api\.dm\.e2e\.test\/jmap\/session/);
    assert.deepEqual(seen, ['jmap.dm.e2e.test/.well-known/jmap']);
    assert.equal(session.connections, 0);
  });

  it('skips an SRV target on port 8443 and names it in the detail', async () => {
    const before = seen.length;
    const result = await lookup('port.e2e.test');
    assert.equal(result.outcome, 'not-found');
    assert.equal(result.alternatives, undefined);
    assert.match(result.detail ?? '', /jmap\.port\.e2e\.test port 8443 skipped/);
    assert.equal(seen.length, before, 'the well-known server was not asked');
  });

  it('reads an SRV record without a target as "not offered"', async () => {
    const result = await lookup('null.e2e.test');
    assert.equal(result.outcome, 'not-found');
    assert.equal(result.alternatives, undefined);
    assert.match(result.detail ?? '', /_jmap\._tcp\.null\.e2e\.test: not offered/);
  });
});
