import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LookupSubject } from '../../src/api/input.js';
import type { DnsAnswer, MxRecord, SrvRecord } from '../../src/net/dns.js';
import type { HttpResult } from '../../src/net/http.js';
import { createAutoconfigSource, createWellKnownAutoconfigSource } from '../../src/sources/autoconfig.js';
import { createHttpAutoconfigSource } from '../../src/sources/http-autoconfig.js';
import { createIspdbSource } from '../../src/sources/ispdb.js';
import { createMxSource, firstFoundInOrder, mxCandidateDomains } from '../../src/sources/mx.js';
import { createSrvSource, orderSrv } from '../../src/sources/srv.js';
import type { SourceContext, SourceResult } from '../../src/sources/types.js';
import { loadTestProviderDb } from '../helpers/app.js';
import { FakeDns, httpTable } from '../helpers/fakes.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };
const withEmail: LookupSubject = { domain: 'example.test', email: 'jane.doe@example.test', localPart: 'jane.doe' };
const domainOnly: LookupSubject = { domain: 'example.test', email: null, localPart: null };
const context = (subject: LookupSubject = withEmail, signal = new AbortController().signal): SourceContext => ({ subject, signal, log });

const xml = (host: string, port = 993, type = 'imap') => `<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="p"><displayName>P</displayName>
<incomingServer type="${type}"><hostname>${host}</hostname><port>${port}</port><socketType>SSL</socketType>
<username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.${host.split('.').slice(1).join('.')}</hostname><port>465</port><socketType>SSL</socketType></outgoingServer>
</emailProvider></clientConfig>`;

const ok = (url: string, body: string): HttpResult => ({ ok: true, status: 200, body, url, contentType: 'text/xml', redirects: 0 });

/** A fake resolver: SRV and MX answers from tables; unknown names are NXDOMAIN. */
function fakeDns(tables: { srv?: Record<string, DnsAnswer<SrvRecord>>; mx?: Record<string, DnsAnswer<MxRecord>> }): FakeDns {
  return new FakeDns({ srv: (name) => tables.srv?.[name], mx: (name) => tables.mx?.[name] });
}

const srvOk = (...records: SrvRecord[]): DnsAnswer<SrvRecord> => ({ ok: true, records, ttlS: undefined });

describe('autoconfig sources', () => {
  it('fetches https autoconfig.<domain> with the address, but never reports the address', async () => {
    const base = 'https://autoconfig.example.test/mail/config-v1.1.xml';
    const http = httpTable({ [`${base}?emailaddress=jane.doe%40example.test`]: ok(base, xml('imap.example.test')) });
    const result = await createAutoconfigSource(http).lookup(context());
    assert.equal(result.outcome, 'found');
    assert.equal(http.asked[0], `${base}?emailaddress=jane.doe%40example.test`);
    assert.equal(result.url, base);
    assert.ok(result.outcome === 'found' && result.servers.every((server) => server.source === `autoconfig:${base}` && server.trusted));
    assert.doesNotMatch(JSON.stringify(result), /jane/);
  });

  it('omits the query when only a domain is given', async () => {
    const http = httpTable({});
    await createAutoconfigSource(http).lookup(context(domainOnly));
    assert.deepEqual(http.asked, ['https://autoconfig.example.test/mail/config-v1.1.xml']);
  });

  it('reads the well-known location on the domain itself', async () => {
    const url = 'https://example.test/.well-known/autoconfig/mail/config-v1.1.xml';
    const result = await createWellKnownAutoconfigSource(httpTable({ [url]: ok(url, xml('mail.example.test')) })).lookup(context());
    assert.equal(result.outcome, 'found');
    assert.ok(result.outcome === 'found' && result.servers[0]?.host === 'mail.example.test');
  });

  const failures: [string, HttpResult, SourceResult['outcome'], string?][] = [
    ['404', { ok: false, code: 'http_error', status: 404, message: 'HTTP 404', url: 'u' }, 'not-found'],
    ['500', { ok: false, code: 'http_error', status: 500, message: 'HTTP 500', url: 'u' }, 'error', 'http_error'],
    ['no such host', { ok: false, code: 'no_such_host', message: 'nx', url: 'u' }, 'not-found'],
    ['refused address', { ok: false, code: 'blocked', message: 'loopback', url: 'u' }, 'blocked'],
    ['timeout', { ok: false, code: 'timeout', message: 't', url: 'u' }, 'timeout'],
    ['too large', { ok: false, code: 'too_large', message: 'big', url: 'u' }, 'error', 'too_large'],
    ['tls', { ok: false, code: 'tls_error', message: 'cert', url: 'u' }, 'error', 'tls_error'],
    ['dns failure', { ok: false, code: 'dns_failed', message: 'servfail', url: 'u' }, 'error', 'dns_failed'],
    ['malformed XML', ok('u', '<clientConfig><oops>'), 'error', 'malformed_xml'],
    ['entity bomb', ok('u', '<!DOCTYPE x [<!ENTITY a "b">]><clientConfig/>'), 'error', 'doctype_refused'],
    ['no usable server', ok('u', xml('imap.example.test', 0).replace(/<outgoingServer.*<\/outgoingServer>/, '')), 'not-found'],
  ];
  for (const [name, response, outcome, error] of failures) {
    it(`reports ${name} as ${outcome}${error ? ` (${error})` : ''}`, async () => {
      const url = 'https://example.test/.well-known/autoconfig/mail/config-v1.1.xml';
      const result = await createWellKnownAutoconfigSource(httpTable({ [url]: response })).lookup(context());
      assert.equal(result.outcome, outcome);
      if (error) assert.equal(result.outcome === 'error' && result.error, error);
      assert.equal(result.url, url);
    });
  }

  it('passes the DNS TTL of the fetched host on as the cache TTL, with a 60 s floor', async () => {
    const url = 'https://example.test/.well-known/autoconfig/mail/config-v1.1.xml';
    for (const [dnsTtlS, ttlS] of [[300, 300], [5, 60], [undefined, undefined]] as const) {
      const response: HttpResult = { ...ok(url, xml('imap.example.test')), ...(dnsTtlS !== undefined ? { dnsTtlS } : {}) } as HttpResult;
      const result = await createWellKnownAutoconfigSource(httpTable({ [url]: response })).lookup(context());
      assert.equal(result.outcome === 'found' ? result.ttlS : 'not found', ttlS);
    }
  });

  it('plain-HTTP autoconfig never sends the address and marks servers untrusted', async () => {
    const url = 'http://autoconfig.example.test/mail/config-v1.1.xml';
    const http = httpTable({ [url]: ok(url, xml('imap.example.test')) });
    const result = await createHttpAutoconfigSource(http).lookup(context());
    assert.deepEqual(http.asked, [url]);
    assert.ok(result.outcome === 'found' && result.servers.every((server) => server.trusted === false));
  });
});

describe('instructions from documents (<enable>, <documentation>)', () => {
  const guided = (host: string) =>
    xml(host).replace(
      '</emailProvider>',
      `<enable visiturl="https://mail.example.test/settings"><instruction lang="en">Turn on IMAP first.</instruction><instruction lang="de">Erst IMAP einschalten.</instruction></enable>
<documentation url="https://help.example.test/imap"><descr lang="en">IMAP help</descr></documentation></emailProvider>`,
    );
  const expected = (source: string) => [
    {
      kind: 'enable',
      url: 'https://mail.example.test/settings',
      texts: [{ lang: 'en', text: 'Turn on IMAP first.' }, { lang: 'de', text: 'Erst IMAP einschalten.' }],
      source,
    },
    { kind: 'documentation', url: 'https://help.example.test/imap', texts: [{ lang: 'en', text: 'IMAP help' }], source },
  ];

  it('carries them from an https autoconfig document and from the ISPDB, with the document as source', async () => {
    const base = 'https://autoconfig.example.test/mail/config-v1.1.xml';
    const autoconfig = await createAutoconfigSource(httpTable({ [base]: ok(base, guided('imap.example.test')) })).lookup(context(domainOnly));
    assert.ok(autoconfig.outcome === 'found');
    assert.deepEqual(autoconfig.instructions, expected(`autoconfig:${base}`));
    const ispdb = 'https://ispdb.test/v1.1/example.test';
    const fromIspdb = await createIspdbSource(httpTable({ [ispdb]: ok(ispdb, guided('imap.example.test')) }), ['https://ispdb.test/v1.1/']).lookup(context());
    assert.ok(fromIspdb.outcome === 'found');
    assert.deepEqual(fromIspdb.instructions, expected(`ispdb:${ispdb}`));
  });

  it('never carries them from a plain-HTTP document (a link there could have been swapped on the way)', async () => {
    const url = 'http://autoconfig.example.test/mail/config-v1.1.xml';
    const result = await createHttpAutoconfigSource(httpTable({ [url]: ok(url, guided('imap.example.test')) })).lookup(context());
    assert.equal(result.outcome, 'found');
    assert.ok(result.outcome === 'found' && result.instructions === undefined);
    // The same document over HTTPS (the well-known location) carries them.
    const https = 'https://example.test/.well-known/autoconfig/mail/config-v1.1.xml';
    const secure = await createWellKnownAutoconfigSource(httpTable({ [https]: ok(https, guided('imap.example.test')) })).lookup(context());
    assert.ok(secure.outcome === 'found');
    assert.deepEqual(secure.instructions, expected(`autoconfig:${https}`));
  });
});

describe('OAuth details from documents', () => {
  it('puts an autoconfig 1.2 <oAuth2> on the servers that list OAuth2, with the document as source', async () => {
    const url = 'https://autoconfig.example.test/mail/config-v1.1.xml';
    const doc = `<?xml version="1.0"?><clientConfig version="1.2"><emailProvider id="example.test">
<incomingServer type="imap"><hostname>imap.example.test</hostname><port>993</port><socketType>SSL</socketType><authentication>OAuth2</authentication><authentication>password-cleartext</authentication></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.example.test</hostname><port>465</port><socketType>SSL</socketType><authentication>password-cleartext</authentication></outgoingServer>
</emailProvider><oAuth2><issuer>login.example.test</issuer><scope>IMAP offline_access</scope><authURL>https://login.example.test/auth</authURL><tokenURL>https://login.example.test/token</tokenURL></oAuth2></clientConfig>`;
    const result = await createAutoconfigSource(httpTable({ [url]: ok(url, doc) })).lookup(context(domainOnly));
    assert.ok(result.outcome === 'found');
    const [imap, smtp] = result.servers;
    assert.deepEqual(imap?.oauth2, {
      issuer: 'login.example.test',
      authorizationEndpoint: 'https://login.example.test/auth',
      tokenEndpoint: 'https://login.example.test/token',
      scopes: ['IMAP', 'offline_access'],
      source: `autoconfig:${url}`,
    });
    assert.equal(smtp?.oauth2, undefined);
  });
});

describe('ISPDB source', () => {
  it('fetches <base><domain> of the first ISPDB_URLS entry', async () => {
    const url = 'https://ispdb.test/v1.1/example.test';
    const http = httpTable({ [url]: ok(url, xml('imap.example.test')) });
    const result = await createIspdbSource(http, ['https://ispdb.test/v1.1/', 'https://second.test/']).lookup(context());
    assert.equal(result.outcome, 'found');
    assert.ok(result.outcome === 'found' && result.servers[0]?.source === `ispdb:${url}` && result.servers[0].trusted);
    assert.deepEqual(http.asked, [url]);
  });

  it('asks the second base only when the first fails, not when it answers 404', async () => {
    const first = 'https://ispdb.test/v1.1/example.test';
    const second = 'https://second.test/example.test';
    const bases = ['https://ispdb.test/v1.1/', 'https://second.test/'];
    const notThere = httpTable({ [second]: ok(second, xml('imap.example.test')) });
    assert.equal((await createIspdbSource(notThere, bases).lookup(context())).outcome, 'not-found');
    assert.deepEqual(notThere.asked, [first]);

    const failing = httpTable({
      [first]: { ok: false, code: 'timeout', message: 'no complete answer within 3000 ms', url: first },
      [second]: ok(second, xml('imap.example.test')),
    });
    const result = await createIspdbSource(failing, bases).lookup(context());
    assert.deepEqual(failing.asked, [first, second]);
    assert.ok(result.outcome === 'found' && result.servers[0]?.source === `ispdb:${second}`);
    assert.match(result.detail ?? '', /asked after https:\/\/ispdb\.test\/v1\.1\/example\.test: timeout/);
  });

  it('is skipped without touching the network when ISPDB_URLS is empty', async () => {
    const http = httpTable({});
    const result = await createIspdbSource(http, []).lookup(context());
    assert.equal(result.outcome, 'skipped');
    assert.equal(http.asked.length, 0);
  });
});

describe('SRV source', () => {
  it('orders records by priority, then weight (RFC 2782)', () => {
    const ordered = orderSrv([
      { name: 'c.test', port: 1, priority: 20, weight: 100 },
      { name: 'b.test', port: 1, priority: 10, weight: 5 },
      { name: 'a.test', port: 1, priority: 10, weight: 50 },
    ]);
    assert.deepEqual(ordered.map((record) => record.name), ['a.test', 'b.test', 'c.test']);
  });

  it('decides security by port as clients connect (RFC 8314 §3, §5.1): 465/993/995 are implicit TLS under any label', async () => {
    const dns = fakeDns({
      srv: {
        '_submission._tcp.example.test': srvOk({ name: 'smtp.example.test', port: 465, priority: 0, weight: 0 }),
        '_imap._tcp.example.test': srvOk({ name: 'imap.example.test', port: 993, priority: 0, weight: 0 }, { name: 'imap.example.test', port: 143, priority: 1, weight: 0 }),
        '_pop3._tcp.example.test': srvOk({ name: 'pop.example.test', port: 995, priority: 0, weight: 0 }),
      },
    });
    const result = await createSrvSource(dns).lookup(context());
    assert.ok(result.outcome === 'found');
    assert.deepEqual(
      result.servers.map((server) => `${server.protocol} ${server.port} ${server.security}`),
      ['imap 993 tls', 'imap 143 starttls', 'pop3 995 tls', 'smtp 465 tls'],
    );
  });

  it('maps each RFC 6186 / 8314 service and keeps the RFC 2782 order', async () => {
    const dns = fakeDns({
      srv: {
        '_imaps._tcp.example.test': srvOk({ name: 'imap2.example.test', port: 993, priority: 20, weight: 0 }, { name: 'imap1.example.test.', port: 993, priority: 10, weight: 0 }),
        '_imap._tcp.example.test': srvOk({ name: 'imap1.example.test', port: 143, priority: 0, weight: 0 }),
        '_pop3s._tcp.example.test': srvOk({ name: 'pop.example.test', port: 995, priority: 0, weight: 0 }),
        '_submissions._tcp.example.test': srvOk({ name: 'smtp.example.test', port: 465, priority: 0, weight: 0 }),
        '_submission._tcp.example.test': srvOk({ name: 'smtp.example.test', port: 587, priority: 0, weight: 0 }),
      },
    });
    const result = await createSrvSource(dns).lookup(context());
    assert.equal(result.outcome, 'found');
    if (result.outcome !== 'found') return;
    assert.deepEqual(
      result.servers.map((server) => `${server.protocol} ${server.host}:${server.port} ${server.security} ${server.source}`),
      [
        'imap imap1.example.test:993 tls srv:_imaps._tcp.example.test',
        'imap imap2.example.test:993 tls srv:_imaps._tcp.example.test',
        'imap imap1.example.test:143 starttls srv:_imap._tcp.example.test',
        'pop3 pop.example.test:995 tls srv:_pop3s._tcp.example.test',
        'smtp smtp.example.test:465 tls srv:_submissions._tcp.example.test',
        'smtp smtp.example.test:587 starttls srv:_submission._tcp.example.test',
      ],
    );
  });

  it('drops a service whose target is "." and never falls back for it', async () => {
    const dns = fakeDns({
      srv: {
        '_imaps._tcp.example.test': srvOk({ name: 'imap.example.test', port: 993, priority: 0, weight: 0 }),
        '_pop3s._tcp.example.test': srvOk({ name: '', port: 0, priority: 0, weight: 0 }),
        '_pop3._tcp.example.test': srvOk({ name: '.', port: 0, priority: 0, weight: 0 }),
      },
    });
    const result = await createSrvSource(dns).lookup(context());
    assert.ok(result.outcome === 'found');
    if (result.outcome !== 'found') return;
    assert.deepEqual(result.servers.map((server) => server.protocol), ['imap']);
    assert.match(result.detail ?? '', /_pop3s\._tcp\.example\.test: not offered/);
  });

  it('is not-found without records, error on SERVFAIL, timeout when every query timed out', async () => {
    assert.equal((await createSrvSource(fakeDns({})).lookup(context())).outcome, 'not-found');
    const servfail = { ok: false as const, kind: 'error' as const, code: 'ESERVFAIL', message: 'x' };
    const timeout = { ok: false as const, kind: 'timeout' as const, code: 'ETIMEOUT', message: 'x' };
    const one = await createSrvSource(fakeDns({ srv: { '_imaps._tcp.example.test': servfail } })).lookup(context());
    assert.equal(one.outcome, 'error');
    const names = ['_imaps', '_imap', '_pop3s', '_pop3', '_submissions', '_submission'].map((label) => `${label}._tcp.example.test`);
    const all = await createSrvSource(fakeDns({ srv: Object.fromEntries(names.map((name) => [name, timeout])) })).lookup(context());
    assert.equal(all.outcome, 'timeout');
  });
});

describe('MX source', () => {
  const mx = (...records: MxRecord[]): DnsAnswer<MxRecord> => ({ ok: true, records, ttlS: undefined });

  it('names the parent and registrable domains of the MX host, never public suffixes or the mail domain', () => {
    assert.deepEqual(mxCandidateDomains('mx1.mail.hoster.co.uk', 'example.test'), ['mail.hoster.co.uk', 'hoster.co.uk']);
    assert.deepEqual(mxCandidateDomains('mx.hoster.com.', 'example.test'), ['hoster.com']);
    assert.deepEqual(mxCandidateDomains('mx.example.test', 'example.test'), []);
    assert.deepEqual(mxCandidateDomains('hoster.co.uk', 'example.test'), ['hoster.co.uk']);
    assert.deepEqual(mxCandidateDomains('co.uk', 'example.test'), []);
  });

  it('matches the best MX (lowest preference) against provider MX suffixes', async () => {
    const providerDb = await loadTestProviderDb();
    const withSuffix = providerDb.all().find((provider) => provider.mxSuffixes.length > 0);
    assert.ok(withSuffix, 'a provider with an MX suffix exists');
    const suffix = withSuffix.mxSuffixes[0] ?? '';
    const dns = fakeDns({ mx: { 'example.test': mx({ exchange: 'backup.other.test', priority: 20 }, { exchange: `aspmx.${suffix}`, priority: 5 }) } });
    const http = httpTable({});
    const result = await createMxSource({ dns, providerDb, http, ispdbUrls: [] }).lookup(context());
    assert.equal(result.outcome, 'found');
    if (result.outcome !== 'found') return;
    assert.equal(result.provider?.id, withSuffix.id);
    assert.ok(result.servers.every((server) => server.source === `mx:aspmx.${suffix}`));
    assert.equal(http.asked.length, 0);
  });

  it('asks autoconfig and ISPDB of the MX domains, parent first, without the address', async () => {
    const providerDb = await loadTestProviderDb();
    const dns = fakeDns({ mx: { 'example.test': mx({ exchange: 'mx1.mail.hoster.test', priority: 10 }) } });
    const parentIspdb = 'https://ispdb.test/v1.1/mail.hoster.test';
    const registrableAutoconfig = 'https://autoconfig.hoster.test/mail/config-v1.1.xml';
    const http = httpTable({
      [parentIspdb]: ok(parentIspdb, xml('imap.hoster.test')),
      [registrableAutoconfig]: ok(registrableAutoconfig, xml('other.hoster.test')),
    });
    const result = await createMxSource({ dns, providerDb, http, ispdbUrls: ['https://ispdb.test/v1.1/'] }).lookup(context());
    assert.equal(result.outcome, 'found');
    if (result.outcome !== 'found') return;
    assert.equal(result.servers[0]?.host, 'imap.hoster.test', 'the parent domain ranks before the registrable one');
    assert.ok(result.servers.every((server) => server.source === 'mx:mx1.mail.hoster.test'));
    assert.ok(http.asked.every((url) => !url.includes('jane')), 'the address is never sent to another domain');
    assert.ok(http.asked.includes('https://autoconfig.mail.hoster.test/mail/config-v1.1.xml'));
  });

  it('reports a null MX, a missing MX and a failing MX query', async () => {
    const providerDb = await loadTestProviderDb();
    const http = httpTable({});
    const run = (answer: DnsAnswer<MxRecord> | undefined) =>
      createMxSource({ dns: fakeDns({ mx: answer ? { 'example.test': answer } : {} }), providerDb, http, ispdbUrls: [] }).lookup(context());
    assert.equal((await run(mx({ exchange: '', priority: 0 }))).outcome, 'not-found');
    assert.equal((await run(undefined)).outcome, 'not-found');
    assert.equal((await run({ ok: false, kind: 'error', code: 'ESERVFAIL', message: 'x' })).outcome, 'error');
    assert.equal((await run({ ok: false, kind: 'timeout', code: 'ETIMEOUT', message: 'x' })).outcome, 'timeout');
  });

  it('ignores an MX host that is not a plain host name (it would become part of a URL)', async () => {
    const providerDb = await loadTestProviderDb();
    const http = httpTable({});
    for (const exchange of ['mx.evil.test/x?', 'user@mx.evil.test', 'mx.evil.test#frag', '127.0.0.1']) {
      const dns = fakeDns({ mx: { 'example.test': mx({ exchange, priority: 10 }) } });
      const result = await createMxSource({ dns, providerDb, http, ispdbUrls: ['https://ispdb.test/v1.1/'] }).lookup(context());
      assert.equal(result.outcome, 'not-found', exchange);
    }
    assert.deepEqual(http.asked, []);
  });

  it('firstFoundInOrder settles on the earliest found result and aborts what is behind it', async () => {
    let abortedLate = false;
    const started = performance.now();
    const results = await firstFoundInOrder(
      [
        async () => ({ outcome: 'not-found' }),
        async () => ({ outcome: 'found', servers: [] }),
        (signal) =>
          new Promise<SourceResult>((resolve) => {
            signal.addEventListener('abort', () => {
              abortedLate = true;
              resolve({ outcome: 'timeout' });
            });
          }),
      ],
      new AbortController().signal,
    );
    assert.ok(performance.now() - started < 500);
    assert.equal(abortedLate, true);
    assert.deepEqual(results.map((result) => result?.outcome), ['not-found', 'found', undefined]);
  });
});
