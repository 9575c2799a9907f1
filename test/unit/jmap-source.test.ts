import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LookupSubject } from '../../src/api/input.js';
import type { DnsAnswer, DnsResolver, SrvRecord } from '../../src/net/dns.js';
import type { HttpClient, HttpResult } from '../../src/net/http.js';
import { checkSessionUrl, createJmapSource, looksLikeSession, MAX_JMAP_SRV_TARGETS } from '../../src/sources/jmap.js';
import { SOURCE_TABLE } from '../../src/sources/source-table.js';
import type { SourceContext, SourceResult } from '../../src/sources/types.js';
import { FakeDns, httpTable } from '../helpers/fakes.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };
const subject: LookupSubject = { domain: 'example.test', email: 'jane.doe@example.test', localPart: 'jane.doe' };
const context = (signal = new AbortController().signal): SourceContext => ({ subject, signal, log });

const WELL_KNOWN = 'https://example.test/.well-known/jmap';
const SRV_NAME = '_jmap._tcp.example.test';

/** A fake HTTP client answering from a table of URL → result (unknown URLs: 404); records each request. */
const fakeHttp = httpTable;

/** A fake resolver answering `_jmap._tcp` questions from a table; records each question and its signal. */
const fakeDns = (srv: Record<string, DnsAnswer<SrvRecord>> = {}) => new FakeDns({ srv: (name) => srv[name] });

const srvOk = (...records: SrvRecord[]): DnsAnswer<SrvRecord> => ({ ok: true, records, ttlS: undefined });
const target = (name: string, port = 443, priority = 0, weight = 0): SrvRecord => ({ name, port, priority, weight });
const redirect = (url: string, location: string, status = 307): HttpResult => ({ ok: true, status, body: '', url, contentType: undefined, redirects: 0, location });
const status = (url: string, code: number): HttpResult => ({ ok: false, code: 'http_error', status: code, message: `HTTP ${code}`, url });
const json = (url: string, body: unknown): HttpResult => ({ ok: true, status: 200, body: JSON.stringify(body), url, contentType: 'application/json', redirects: 0 });
const wellKnownOf = (host: string) => `https://${host}/.well-known/jmap`;

const run = (http: HttpClient, dns: DnsResolver = fakeDns()) => createJmapSource({ http, dns }).lookup(context());
const urls = (result: SourceResult) => (result.alternatives ?? []).map((entry) => entry.url);

describe('JMAP source', () => {
  it('is a companion named jmap with priority 60', () => {
    const source = createJmapSource({ http: fakeHttp({}), dns: fakeDns() });
    assert.deepEqual([source.name, source.priority, source.companion], ['jmap', 60, true]);
    assert.equal(SOURCE_TABLE.jmap.priority, 60);
  });

  it('reports the Location of the well-known redirect as the alternative, without fetching it', async () => {
    const session = 'https://api.example.test/jmap/session';
    const http = fakeHttp({ [WELL_KNOWN]: redirect(WELL_KNOWN, session) });
    const result = await run(http);
    assert.equal(result.outcome, 'not-found');
    assert.deepEqual(result.alternatives, [{ kind: 'jmap', url: session, source: `jmap:${WELL_KNOWN}`, trusted: true }]);
    assert.match(result.detail ?? '', /^JMAP session at https:\/\/api\.example\.test\/jmap\/session/);
    assert.equal(result.url, WELL_KNOWN);
    assert.deepEqual(http.asked, [WELL_KNOWN]);
  });

  it('asks with a manual redirect, a JSON Accept header and the lookup signal, on SRV and HTTP alike', async () => {
    const controller = new AbortController();
    const http = fakeHttp({});
    const dns = fakeDns();
    await createJmapSource({ http, dns }).lookup(context(controller.signal));
    assert.deepEqual(dns.asked, [SRV_NAME]);
    assert.equal(dns.questions[0]?.signal, controller.signal);
    assert.equal(http.requests.length, 1);
    assert.equal(http.requests[0]?.redirect, 'manual');
    assert.equal(http.requests[0]?.accept, 'application/json');
    assert.equal(http.requests[0]?.signal, controller.signal);
  });

  it('never sends the email address (only the domain is used)', async () => {
    const dns = fakeDns({ [SRV_NAME]: srvOk(target('jmap.example.test')) });
    const http = fakeHttp({});
    const result = await run(http, dns);
    assert.ok(http.asked.length === 2);
    assert.doesNotMatch(JSON.stringify([http.asked, dns.asked, result]), /jane/);
  });

  it('refuses an http Location: no alternative, error redirect_refused', async () => {
    const http = fakeHttp({ [WELL_KNOWN]: redirect(WELL_KNOWN, 'http://api.example.test/jmap/session') });
    const result = await run(http);
    assert.equal(result.outcome, 'error');
    assert.equal(result.outcome === 'error' && result.error, 'redirect_refused');
    assert.equal(result.alternatives, undefined);
    assert.match(result.detail ?? '', /scheme http: refused/);
  });

  const badLocations: [string, string, RegExp][] = [
    ['javascript:', 'javascript:alert(1)', /scheme javascript: refused/],
    ['data:', 'data:text/html,<b>x</b>', /scheme data: refused/],
    ['credentials', 'https://user:secret@api.example.test/session', /credentials refused/],
    ['a user name only', 'https://user@api.example.test/session', /credentials refused/],
    ['10 KB long', `https://api.example.test/${'a'.repeat(10 * 1024)}`, /longer than 2048/],
    ['an IP literal', 'https://[::1]/session', /valid host/],
  ];
  for (const [name, location, reason] of badLocations) {
    it(`refuses a Location that is ${name}`, async () => {
      const http = fakeHttp({ [WELL_KNOWN]: redirect(WELL_KNOWN, location) });
      const result = await run(http);
      assert.equal(result.outcome === 'error' && result.error, 'redirect_refused');
      assert.deepEqual(urls(result), []);
      assert.match(result.detail ?? '', reason);
      assert.doesNotMatch(result.detail ?? '', /secret/);
    });
  }

  it('checkSessionUrl keeps an https URL with a port and drops its fragment', () => {
    assert.deepEqual(checkSessionUrl('https://API.example.test:8443/jmap/?x=1#frag'), { ok: true, url: 'https://api.example.test:8443/jmap/?x=1' });
  });

  it('reports a 401 at the well-known URL as the well-known URL itself', async () => {
    const http = fakeHttp({ [WELL_KNOWN]: status(WELL_KNOWN, 401) });
    const result = await run(http);
    assert.equal(result.outcome, 'not-found');
    assert.deepEqual(result.alternatives, [{ kind: 'jmap', url: WELL_KNOWN, source: `jmap:${WELL_KNOWN}`, trusted: true }]);
  });

  it('reports a 200 session object as the well-known URL, and a 200 that is not one as not-found', async () => {
    const session = { capabilities: { 'urn:ietf:params:jmap:core': { maxSizeUpload: 1 } }, accounts: {} };
    const yes = await run(fakeHttp({ [WELL_KNOWN]: json(WELL_KNOWN, session) }));
    assert.deepEqual(urls(yes), [WELL_KNOWN]);
    const no = await run(fakeHttp({ [WELL_KNOWN]: json(WELL_KNOWN, { capabilities: { 'urn:other': {} } }) }));
    assert.equal(no.outcome, 'not-found');
    assert.deepEqual(urls(no), []);
    assert.match(no.detail ?? '', /HTTP 200 without a JMAP session/);
  });

  it('looksLikeSession needs an object capabilities with the core capability as its own key', () => {
    assert.equal(looksLikeSession('{"capabilities":{"urn:ietf:params:jmap:core":{}}}'), true);
    assert.equal(looksLikeSession('{"capabilities":["urn:ietf:params:jmap:core"]}'), false);
    assert.equal(looksLikeSession('{"capabilities":"urn:ietf:params:jmap:core"}'), false);
    assert.equal(looksLikeSession('{"urn:ietf:params:jmap:core":{}}'), false);
    assert.equal(looksLikeSession('<html>'), false);
    assert.equal(looksLikeSession('null'), false);
  });

  it('is a plain not-found without alternatives on 404 and no SRV record', async () => {
    const result = await run(fakeHttp({}));
    assert.equal(result.outcome, 'not-found');
    assert.equal(result.alternatives, undefined);
    assert.equal(result.url, WELL_KNOWN);
    assert.match(result.detail ?? '', /HTTP 404/);
  });

  const failures: [string, HttpResult, SourceResult['outcome'], string?][] = [
    ['no such host', { ok: false, code: 'no_such_host', message: 'nx', url: WELL_KNOWN }, 'not-found'],
    ['a refused address', { ok: false, code: 'blocked', message: 'loopback', url: WELL_KNOWN }, 'blocked'],
    ['a timeout', { ok: false, code: 'timeout', message: 't', url: WELL_KNOWN }, 'timeout'],
    ['a TLS failure', { ok: false, code: 'tls_error', message: 'cert', url: WELL_KNOWN }, 'error', 'tls_error'],
    ['a 500', status(WELL_KNOWN, 500), 'error', 'http_error'],
  ];
  for (const [name, response, outcome, error] of failures) {
    it(`reports ${name} as ${outcome}${error ? ` (${error})` : ''}`, async () => {
      const result = await run(fakeHttp({ [WELL_KNOWN]: response }));
      assert.equal(result.outcome, outcome);
      if (error) assert.equal(result.outcome === 'error' && result.error, error);
      assert.deepEqual(urls(result), []);
    });
  }

  it('fetches the well-known URL of an SRV target', async () => {
    const srvUrl = wellKnownOf('jmap.provider.test');
    const dns = fakeDns({ [SRV_NAME]: srvOk(target('jmap.provider.test.')) });
    const http = fakeHttp({ [srvUrl]: redirect(srvUrl, 'https://jmap.provider.test/session') });
    const result = await run(http, dns);
    assert.deepEqual(result.alternatives, [{ kind: 'jmap', url: 'https://jmap.provider.test/session', source: `jmap:${srvUrl}`, trusted: true }]);
    assert.deepEqual([...http.asked].sort(), [WELL_KNOWN, srvUrl].sort());
    assert.equal(result.url, srvUrl);
  });

  it('lists one alternative when the SRV target and the well-known URL lead to the same session URL', async () => {
    const session = 'https://jmap.example.test/session';
    const srvUrl = wellKnownOf('jmap.example.test');
    const dns = fakeDns({ [SRV_NAME]: srvOk(target('jmap.example.test')) });
    const http = fakeHttp({ [WELL_KNOWN]: redirect(WELL_KNOWN, session), [srvUrl]: redirect(srvUrl, session, 301) });
    const result = await run(http, dns);
    assert.equal(http.asked.length, 2);
    assert.deepEqual(urls(result), [session]);
    assert.equal(result.alternatives?.[0]?.source, `jmap:${srvUrl}`);
  });

  it('asks the domain once when the SRV target is the domain itself', async () => {
    const dns = fakeDns({ [SRV_NAME]: srvOk(target('example.test')) });
    const http = fakeHttp({ [WELL_KNOWN]: status(WELL_KNOWN, 401) });
    const result = await run(http, dns);
    assert.deepEqual(http.asked, [WELL_KNOWN]);
    assert.deepEqual(urls(result), [WELL_KNOWN]);
  });

  it('treats an SRV null target as "not offered" and fetches nothing for it', async () => {
    for (const name of ['.', '']) {
      const dns = fakeDns({ [SRV_NAME]: srvOk(target(name, 0)) });
      const http = fakeHttp({});
      const result = await run(http, dns);
      assert.deepEqual(http.asked, [WELL_KNOWN]);
      assert.equal(result.outcome, 'not-found');
      assert.match(result.detail ?? '', /_jmap\._tcp\.example\.test: not offered/);
    }
  });

  it('skips an SRV target on a port other than 443 and says so in the detail', async () => {
    const dns = fakeDns({ [SRV_NAME]: srvOk(target('jmap.example.test', 8443)) });
    const http = fakeHttp({ [WELL_KNOWN]: status(WELL_KNOWN, 401) });
    const result = await run(http, dns);
    assert.deepEqual(http.asked, [WELL_KNOWN]);
    assert.deepEqual(urls(result), [WELL_KNOWN]);
    assert.match(result.detail ?? '', /jmap\.example\.test port 8443 skipped/);
  });

  it('drops an SRV target that is not a valid host name', async () => {
    const dns = fakeDns({ [SRV_NAME]: srvOk(target('bad_host..test'), target('127.0.0.1')) });
    const http = fakeHttp({});
    const result = await run(http, dns);
    assert.deepEqual(http.asked, [WELL_KNOWN]);
    assert.match(result.detail ?? '', /invalid target dropped/);
  });

  it(`fetches at most ${MAX_JMAP_SRV_TARGETS} SRV targets, in RFC 2782 order`, async () => {
    const dns = fakeDns({ [SRV_NAME]: srvOk(target('c.example.test', 443, 20), target('b.example.test', 443, 10, 1), target('a.example.test', 443, 10, 9)) });
    const http = fakeHttp({});
    const result = await run(http, dns);
    assert.deepEqual([...http.asked].sort(), [WELL_KNOWN, wellKnownOf('a.example.test'), wellKnownOf('b.example.test')].sort());
    assert.match(result.detail ?? '', /c\.example\.test not asked/);
  });

  it('reports a failed SRV query when nothing was found, and ignores it when something was', async () => {
    const servfail = { ok: false as const, kind: 'error' as const, code: 'ESERVFAIL', message: 'x' };
    const failed = await run(fakeHttp({}), fakeDns({ [SRV_NAME]: servfail }));
    assert.equal(failed.outcome === 'error' && failed.error, 'dns_failed');
    const found = await run(fakeHttp({ [WELL_KNOWN]: status(WELL_KNOWN, 401) }), fakeDns({ [SRV_NAME]: servfail }));
    assert.equal(found.outcome, 'not-found');
    assert.deepEqual(urls(found), [WELL_KNOWN]);
  });

  it('prefers blocked over not-found when one URL was refused by the address policy', async () => {
    const srvUrl = wellKnownOf('jmap.example.test');
    const dns = fakeDns({ [SRV_NAME]: srvOk(target('jmap.example.test')) });
    const http = fakeHttp({ [srvUrl]: { ok: false, code: 'blocked', message: 'refused address', url: srvUrl } });
    const result = await run(http, dns);
    assert.equal(result.outcome, 'blocked');
    assert.equal(result.url, srvUrl);
  });

  it("lists the SRV targets' session URLs first, in RFC 2782 order, then the domain's own", async () => {
    const dns = fakeDns({ [SRV_NAME]: srvOk(target('a.example.test', 443, 10), target('b.example.test', 443, 5)) });
    const http = fakeHttp({
      [WELL_KNOWN]: redirect(WELL_KNOWN, 'https://s3.example.test/'),
      [wellKnownOf('a.example.test')]: redirect(wellKnownOf('a.example.test'), 'https://s1.example.test/'),
      [wellKnownOf('b.example.test')]: redirect(wellKnownOf('b.example.test'), 'https://s2.example.test/'),
    });
    const result = await run(http, dns);
    assert.deepEqual(urls(result), ['https://s2.example.test/', 'https://s1.example.test/', 'https://s3.example.test/']);
  });
});
