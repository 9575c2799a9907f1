import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PACC_MAX_PER_PROTOCOL,
  paccDigest,
  paccTxtValue,
  parsePaccJson,
  parsePaccTxt,
  verifyPaccDigest,
} from '../../src/formats/pacc-json.js';
import type { DnsAnswer } from '../../src/net/dns.js';
import type { HttpResult } from '../../src/net/http.js';
import { createPaccSource, paccUrl } from '../../src/sources/pacc.js';
import { SOURCE_TABLE } from '../../src/sources/source-table.js';
import type { SourceContext } from '../../src/sources/types.js';
import { FakeDns, FakeHttp } from '../helpers/fakes.js';

const bytes = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');

/** A -02 document: mail on text protocols, JMAP by URL, passwords and an OAuth issuer. */
const fullDocument = {
  protocols: {
    imap: { host: 'imap.example.test' },
    pop3: { host: 'pop.example.test' },
    smtp: { host: 'smtp.example.test' },
    jmap: { url: 'https://jmap.example.test/session' },
    caldav: { url: 'https://dav.example.test/cal/' },
  },
  authentication: { password: true, 'oauth-public': { issuer: 'https://auth.example.test' } },
  info: { provider: { name: 'Example Mail', shortName: 'Example' } },
};

const parsed = (value: unknown) => {
  const result = parsePaccJson(bytes(value));
  assert.ok(result.ok, `expected a readable document, got ${JSON.stringify(result)}`);
  return result;
};

describe('PACC document: protocol → server mapping', () => {
  it('maps imap, pop3 and smtp to implicit TLS on 993, 995 and 465 with the address as username', () => {
    const { data } = parsed(fullDocument);
    assert.deepEqual(
      data.servers.map((server) => [server.protocol, server.host, server.port, server.security, server.username]),
      [
        ['imap', 'imap.example.test', 993, 'tls', '%EMAILADDRESS%'],
        ['pop3', 'pop.example.test', 995, 'tls', '%EMAILADDRESS%'],
        ['smtp', 'smtp.example.test', 465, 'tls', '%EMAILADDRESS%'],
      ],
    );
  });

  it('keeps the JMAP URL, the OAuth issuer and the provider name; lists caldav as ignored', () => {
    const result = parsed(fullDocument);
    assert.deepEqual(result.data.jmap, ['https://jmap.example.test/session']);
    assert.equal(result.data.oauthIssuer, 'https://auth.example.test/');
    assert.equal(result.data.providerName, 'Example Mail');
    assert.deepEqual(result.ignored, ['caldav']);
    assert.deepEqual(result.data.servers[0]?.authentication, ['password-cleartext', 'oauth2']);
  });

  it('gives OAuth-only servers authentication ["oauth2"]', () => {
    const { data } = parsed({ protocols: { imap: { host: 'imap.example.test' } }, authentication: { password: false, 'oauth-public': { issuer: 'https://id.example.test/o' } } });
    assert.deepEqual(data.servers[0]?.authentication, ['oauth2']);
    assert.equal(data.password, false);
  });

  it('assumes a password when the document names no authentication at all', () => {
    const { data } = parsed({ protocols: { imap: { host: 'imap.example.test' } } });
    assert.deepEqual(data.servers[0]?.authentication, ['password-cleartext']);
  });

  it('drops servers when passwords are refused and no OAuth is named', () => {
    const result = parsed({ protocols: { imap: { host: 'imap.example.test' } }, authentication: { password: false } });
    assert.deepEqual(result.data.servers, []);
    assert.match(result.dropped.join('\n'), /neither passwords nor OAuth/);
  });

  it('reads the -03 name "submit" as SMTP submission too', () => {
    const { data } = parsed({ protocols: { submit: { host: 'submit.example.test' } } });
    assert.deepEqual(data.servers.map((server) => [server.protocol, server.host, server.port]), [['smtp', 'submit.example.test', 465]]);
  });

  it('ignores unknown members at every level (forward compatibility)', () => {
    const { data } = parsed({
      version: 7,
      future: { anything: [1, 2, 3] },
      protocols: { imap: { host: 'imap.example.test', compression: 'zstd' }, quic: { host: 'q.example.test' } },
      authentication: { password: true, passkeys: { rp: 'example.test' } },
    });
    assert.deepEqual(data.servers.map((server) => server.host), ['imap.example.test']);
  });
});

describe('PACC document: hostile input', () => {
  it('refuses a body that is not JSON', () => {
    const result = parsePaccJson(bytes('<clientConfig/>'));
    assert.ok(!result.ok && result.error === 'pacc_bad_json');
  });

  it('refuses bytes that are not UTF-8', () => {
    const result = parsePaccJson(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    assert.ok(!result.ok && result.error === 'pacc_bad_encoding');
  });

  it('refuses a 300 KB body before parsing it', () => {
    const big = bytes({ protocols: { imap: { host: 'imap.example.test' } }, pad: 'x'.repeat(300 * 1024) });
    const result = parsePaccJson(big);
    assert.ok(!result.ok && result.error === 'pacc_too_large');
  });

  for (const [title, value] of [
    ['a JSON array', [{ protocols: {} }]],
    ['a JSON string', '"protocols"'],
    ['null', null],
    ['an object without protocols', { authentication: { password: true } }],
    ['protocols as an array', { protocols: [{ imap: { host: 'imap.example.test' } }] }],
    ['protocols as a string', { protocols: 'imap.example.test' }],
  ] as const) {
    it(`refuses ${title} as not a PACC document`, () => {
      const result = parsePaccJson(bytes(value));
      assert.ok(!result.ok && result.error === 'pacc_invalid', JSON.stringify(result));
    });
  }

  it('drops entries of the wrong type and reports each', () => {
    const result = parsed({
      protocols: { imap: { host: 42 }, pop3: 'pop.example.test', smtp: { host: ['smtp.example.test'] }, jmap: { url: 5 } },
      authentication: { password: 'yes', 'oauth-public': { issuer: 12 } },
    });
    assert.deepEqual(result.data.servers, []);
    assert.deepEqual(result.data.jmap, []);
    assert.equal(result.data.oauthIssuer, undefined);
    assert.equal(result.dropped.length, 5, result.dropped.join('\n'));
  });

  for (const host of ['127.0.0.1', 'localhost', 'mail', '[::1]', 'imap.example.test:993', 'imap example.test', 'a'.repeat(64) + '.example.test', '-imap.example.test', 'imap.123']) {
    it(`drops the invalid host ${JSON.stringify(host.slice(0, 30))}`, () => {
      const result = parsed({ protocols: { imap: { host } } });
      assert.deepEqual(result.data.servers, []);
      assert.match(result.dropped[0] ?? '', /imap: invalid host/);
    });
  }

  it('lower-cases a host name and strips its trailing dot', () => {
    assert.equal(parsed({ protocols: { imap: { host: 'IMAP.Example.TEST.' } } }).data.servers[0]?.host, 'imap.example.test');
  });

  for (const port of [143, 0, 70000, '993', -1, null]) {
    it(`drops a server naming the port ${JSON.stringify(port)}, which -02 cannot express`, () => {
      const result = parsed({ protocols: { imap: { host: 'imap.example.test', port } } });
      assert.deepEqual(result.data.servers, []);
      assert.match(result.dropped[0] ?? '', /is not the PACC port 993/);
    });
  }

  it('accepts a port equal to the PACC port', () => {
    assert.equal(parsed({ protocols: { smtp: { host: 'smtp.example.test', port: 465 } } }).data.servers.length, 1);
  });

  it(`reads at most ${PACC_MAX_PER_PROTOCOL} entries of a huge list and says how many it left`, () => {
    // As many as fit in PACC_MAX_BYTES (32 KiB).
    const list = Array.from({ length: 900 }, (_, index) => ({ host: `imap${index}.example.test` }));
    const result = parsed({ protocols: { imap: list } });
    assert.equal(result.data.servers.length, PACC_MAX_PER_PROTOCOL);
    assert.match(result.dropped[0] ?? '', /imap: 890 entries past the first 10/);
  });

  it('drops JMAP URLs that are not https on a proper host name', () => {
    for (const url of ['http://jmap.example.test/', 'https://127.0.0.1/jmap', 'https://user:pw@jmap.example.test/', 'javascript:alert(1)', `https://jmap.example.test/${'a'.repeat(3000)}`]) {
      const result = parsed({ protocols: { jmap: { url } } });
      assert.deepEqual(result.data.jmap, [], url.slice(0, 40));
      assert.match(result.dropped[0] ?? '', /jmap: (invalid URL|not an object)/);
    }
  });

  it('drops an OAuth issuer that is not https, but still marks the servers as OAuth', () => {
    const result = parsed({ protocols: { imap: { host: 'imap.example.test' } }, authentication: { 'oauth-public': { issuer: 'http://auth.example.test' } } });
    assert.equal(result.data.oauthIssuer, undefined);
    assert.deepEqual(result.data.servers[0]?.authentication, ['oauth2']);
    assert.match(result.dropped.join('\n'), /oauth-public: invalid issuer/);
  });

  it('strips control characters from the provider name and caps its length', () => {
    const { data } = parsed({ protocols: {}, info: { provider: { name: `Evil\u0007\nCorp${'x'.repeat(500)}` } } });
    assert.ok(data.providerName?.startsWith('EvilCorp'));
    assert.equal(data.providerName?.length, 120);
  });

  it('does not let a "__proto__" member change anything', () => {
    const result = parsePaccJson(bytes('{"protocols":{"__proto__":{"imap":{"host":"evil.example.test"}},"imap":{"host":"imap.example.test"}}}'));
    assert.ok(result.ok);
    assert.deepEqual(result.data.servers.map((server) => server.host), ['imap.example.test']);
  });
});

describe('PACC TXT record and digest', () => {
  const body = bytes(fullDocument);

  it('reads the canonical record', () => {
    const record = parsePaccTxt(paccTxtValue(body));
    assert.ok(record.ok);
    assert.deepEqual(record.digest, paccDigest(body));
  });

  it('tolerates case, spacing, unknown tags and white space inside the base64', () => {
    const digest = paccDigest(body).toString('base64');
    const record = parsePaccTxt(` v = uaac1 ;A=SHA256; x=later;d=${digest.slice(0, 10)} ${digest.slice(10)} ; `);
    assert.ok(record.ok, JSON.stringify(record));
  });

  for (const [title, value, reason] of [
    ['another version', 'v=UAAC2; a=sha256; d=AAAA', 'other'],
    ['unrelated text', 'google-site-verification=abc', 'other'],
    ['v not first', 'a=sha256; v=UAAC1; d=AAAA', 'other'],
    ['no digest', 'v=UAAC1; a=sha256', 'malformed'],
    ['no algorithm', `v=UAAC1; d=${Buffer.alloc(32).toString('base64')}`, 'malformed'],
    ['a digest that is not base64', 'v=UAAC1; a=sha256; d=not*base64!', 'malformed'],
    ['a digest of the wrong length', `v=UAAC1; a=sha256; d=${Buffer.alloc(20).toString('base64')}`, 'malformed'],
    ['a repeated tag', `v=UAAC1; a=sha256; a=sha256; d=${Buffer.alloc(32).toString('base64')}`, 'malformed'],
    ['a tag without =', `v=UAAC1; a=sha256; garbage; d=${Buffer.alloc(32).toString('base64')}`, 'malformed'],
    ['a huge record', `v=UAAC1; a=sha256; d=${'A'.repeat(2000)}`, 'malformed'],
    ['another algorithm', `v=UAAC1; a=sha512; d=${Buffer.alloc(64).toString('base64')}`, 'unsupported_algorithm'],
  ] as const) {
    it(`classifies ${title} as ${reason}`, () => {
      const record = parsePaccTxt(value);
      assert.ok(!record.ok && record.reason === reason, JSON.stringify(record));
    });
  }

  it('accepts a matching digest', () => {
    assert.deepEqual(verifyPaccDigest(body, [paccTxtValue(body)]), { ok: true });
  });

  it('reports a mismatch when one byte of the body differs', () => {
    const changed = Buffer.from(body);
    changed.writeUInt8(changed.readUInt8(changed.length - 2) ^ 1, changed.length - 2);
    const result = verifyPaccDigest(changed, [paccTxtValue(body)]);
    assert.ok(!result.ok && result.error === 'pacc_digest_mismatch');
  });

  it('hashes the exact bytes: trailing white space or a BOM changes the digest', () => {
    assert.ok(!verifyPaccDigest(Buffer.concat([body, Buffer.from('\n')]), [paccTxtValue(body)]).ok);
    assert.ok(!verifyPaccDigest(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]), [paccTxtValue(body)]).ok);
  });

  it('accepts the document when any of several records matches (e.g. during a change of document)', () => {
    const old = paccTxtValue(bytes({ protocols: {} }));
    assert.deepEqual(verifyPaccDigest(body, ['v=spf1 -all', old, 'v=UAAC1; a=sha256', paccTxtValue(body)]), { ok: true });
  });

  it('names a mismatch before an unreadable record when both are present', () => {
    const result = verifyPaccDigest(body, ['v=UAAC1; a=sha256', paccTxtValue(bytes({ protocols: {} }))]);
    assert.ok(!result.ok && result.error === 'pacc_digest_mismatch');
  });

  it('reports a record with another algorithm as an unusable record, not as a match', () => {
    const result = verifyPaccDigest(body, [`v=UAAC1; a=sha512; d=${Buffer.alloc(64).toString('base64')}`]);
    assert.ok(!result.ok && result.error === 'pacc_bad_txt', JSON.stringify(result));
  });

  it('reports a malformed record as pacc_bad_txt', () => {
    const result = verifyPaccDigest(body, ['v=UAAC1; a=sha256; d=%%%']);
    assert.ok(!result.ok && result.error === 'pacc_bad_txt');
  });

  it('reports no UAAC1 record (none, or only unrelated ones) as pacc_digest_missing', () => {
    for (const records of [[], ['v=spf1 -all', 'v=UAAC2; a=sha256; d=AAAA']]) {
      const result = verifyPaccDigest(body, records);
      assert.ok(!result.ok && result.error === 'pacc_digest_missing', JSON.stringify(records));
    }
  });
});

describe('PACC source with fake network', () => {
  const domain = 'example.test';
  const url = paccUrl(domain);
  const log = { debug() {}, info() {}, warn() {}, error() {} };
  const context = (): SourceContext => ({ subject: { domain, email: 'jane.doe@example.test', localPart: 'jane.doe' }, signal: new AbortController().signal, log });
  const okBody = (body: Buffer): HttpResult => ({ ok: true, status: 200, body: body.toString('utf8'), bytes: body, url, contentType: 'application/json', redirects: 0 });

  function fakes(http: HttpResult, txt: DnsAnswer<string>) {
    const client = new FakeHttp(() => http);
    const dns = new FakeDns({ txt: () => txt });
    return { source: createPaccSource({ http: client, dns }), asked: client.requests, txtAsked: dns.questions };
  }

  it('asks the fixed URL as JSON and the TXT name with the lookup signal, never sending the address', async () => {
    const body = bytes(fullDocument);
    const { source, asked, txtAsked } = fakes(okBody(body), { ok: true, records: [paccTxtValue(body)], ttlS: undefined });
    const ctx = context();
    const result = await source.lookup(ctx);
    assert.equal(source.priority, SOURCE_TABLE.pacc.priority);
    assert.equal(result.outcome, 'found');
    assert.deepEqual(asked.map((entry) => [entry.url, entry.accept, entry.signal === ctx.signal]), [[url, 'application/json', true]]);
    assert.deepEqual(txtAsked.map((entry) => [entry.name, entry.signal === ctx.signal]), [['_ua-auto-config.example.test', true]]);
    assert.doesNotMatch(JSON.stringify([asked.map((entry) => entry.url), result]), /jane/);
  });

  it('is partial with an SMTP-only document', async () => {
    const body = bytes({ protocols: { smtp: { host: 'smtp.example.test' } } });
    const { source } = fakes(okBody(body), { ok: true, records: [paccTxtValue(body)], ttlS: undefined });
    assert.equal((await source.lookup(context())).outcome, 'partial');
  });

  it('is blocked (pacc_digest_missing) when the TXT name does not exist', async () => {
    const { source } = fakes(okBody(bytes(fullDocument)), { ok: false, kind: 'not-found', code: 'ENOTFOUND', message: 'nx' });
    const result = await source.lookup(context());
    assert.ok(result.outcome === 'blocked' && result.error === 'pacc_digest_missing' && /no TXT record/.test(result.detail ?? ''), JSON.stringify(result));
  });

  it('is a timeout when the TXT query times out, and an error when it fails', async () => {
    const body = okBody(bytes(fullDocument));
    assert.equal((await fakes(body, { ok: false, kind: 'timeout', code: 'ETIMEOUT', message: 't' }).source.lookup(context())).outcome, 'timeout');
    const failed = await fakes(body, { ok: false, kind: 'error', code: 'ESERVFAIL', message: 's' }).source.lookup(context());
    assert.ok(failed.outcome === 'error' && failed.error === 'dns_failed');
  });

  it('is not-found on a 404, whatever the TXT record says', async () => {
    const { source } = fakes({ ok: false, code: 'http_error', status: 404, message: 'HTTP 404', url }, { ok: true, records: ['v=UAAC1; a=sha256; d=AAAA'], ttlS: undefined });
    assert.equal((await source.lookup(context())).outcome, 'not-found');
  });

  it('refuses to hash a body the client did not return raw', async () => {
    const body = bytes(fullDocument);
    const { bytes: _ignored, ...withoutBytes } = okBody(body) as Extract<HttpResult, { ok: true }>;
    const { source } = fakes(withoutBytes, { ok: true, records: [paccTxtValue(body)], ttlS: undefined });
    const result = await source.lookup(context());
    assert.ok(result.outcome === 'error' && result.error === 'pacc_no_raw_body');
  });

  it('reports a verified document that is not JSON as an error with a stable code', async () => {
    const body = bytes('not json');
    const { source } = fakes(okBody(body), { ok: true, records: [paccTxtValue(body)], ttlS: undefined });
    const result = await source.lookup(context());
    assert.ok(result.outcome === 'error' && result.error === 'pacc_bad_json');
  });
});
