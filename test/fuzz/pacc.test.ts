import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  PACC_MAX_PER_PROTOCOL,
  PACC_MAX_TXT_RECORDS,
  PACC_PORTS,
  parsePaccJson,
  parsePaccTxt,
  paccTxtValue,
  verifyPaccDigest,
  type PaccParseResult,
} from '../../src/formats/pacc-json.js';
import { isPublicHostName } from '../../src/api/input.js';
import { anyString, assertHttpsUrl, assertServerInvariants, runProperty } from './fuzz-options.js';
import { HOST_VALUES, PROTOTYPE_NAMES } from './xml-arbitraries.js';

const encoder = new TextEncoder();

/** Any JSON value, or one of the values a hostile document puts where an object is expected. */
const junk = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, 0, -1, 1e308, '', [], {}, true, '__proto__') },
);
const host = fc.oneof(fc.constantFrom(...HOST_VALUES), fc.domain(), anyString(30), fc.constantFrom(...PROTOTYPE_NAMES));
const port = fc.oneof(fc.constantFrom(993, 995, 465, 143, 587, 0, -1, 65536, '993', 993.5, null, true), junk);
const hostEntry = fc.oneof(
  { weight: 6, arbitrary: fc.record({ host, port }, { requiredKeys: ['host'] }) },
  { weight: 1, arbitrary: fc.record({ host: junk, extra: junk }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: junk },
);
const url = fc.oneof(
  fc.constantFrom('https://jmap.example.com/.well-known/jmap', 'https://example.com/x', 'http://example.com/', 'https://u:p@example.com/', 'https://127.0.0.1/', 'https://[::1]/', 'https://localhost/', 'https://', `https://e.com/${'a'.repeat(2100)}`),
  fc.webUrl(),
  anyString(40),
);
const service = <T>(entry: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 4, arbitrary: entry },
    { weight: 2, arbitrary: fc.array(entry, { maxLength: PACC_MAX_PER_PROTOCOL + 3 }) },
    { weight: 1, arbitrary: junk },
  );
const protocols = fc.record(
  {
    imap: service(hostEntry),
    pop3: service(hostEntry),
    smtp: service(hostEntry),
    submit: service(hostEntry),
    jmap: service(fc.oneof(fc.record({ url }), junk)),
    caldav: junk,
    carddav: junk,
    managesieve: junk,
    constructor: junk,
    toString: junk,
  },
  { requiredKeys: [] },
);
const authentication = fc.oneof(
  fc.record(
    {
      password: fc.oneof(fc.boolean(), junk),
      'oauth-public': fc.oneof(fc.record({ issuer: fc.oneof(url, junk) }, { requiredKeys: [] }), junk),
    },
    { requiredKeys: [] },
  ),
  junk,
);
const info = fc.oneof(fc.record({ provider: fc.oneof(fc.record({ name: fc.oneof(anyString(150), junk) }), junk) }), junk);
/** A structurally plausible, hostile PACC document. */
const paccDocument = fc.oneof(
  { weight: 8, arbitrary: fc.record({ protocols, authentication, info, extra: junk }, { requiredKeys: ['protocols'] }) },
  { weight: 1, arbitrary: junk },
);
/** Its exact bytes: JSON, sometimes with a BOM, white space, a cut, or invalid UTF-8 inserted. */
const paccBytes = fc
  .tuple(paccDocument, fc.constantFrom('plain', 'plain', 'plain', 'bom', 'indent', 'cut', 'badutf8', 'proto'), fc.nat())
  .map(([document, mode, n]) => {
    let json = JSON.stringify(document, null, mode === 'indent' ? 2 : undefined) ?? 'null';
    // JSON.parse makes "__proto__" an own member; a reader must not treat it as anything else.
    if (mode === 'proto') json = json.replace(/^\{/, '{"__proto__":{"protocols":{"imap":{"host":"evil.example.com"}}},').replace(/"protocols":\{/, '"protocols":{"__proto__":{"host":"evil.example.com"},');
    const bytes = encoder.encode(mode === 'bom' ? `\ufeff${json}` : json);
    if (mode === 'cut') return bytes.slice(0, n % (bytes.length + 1));
    if (mode === 'badutf8') {
      const at = n % (bytes.length + 1);
      return Uint8Array.from([...bytes.slice(0, at), 0xc3, 0x28, 0xff, ...bytes.slice(at)]);
    }
    return bytes;
  });

/** Invariants of a read document: PACC servers (implicit TLS on the registered port), https URLs, bounded counts. */
function assertPaccResult(result: PaccParseResult): void {
  assert.equal(typeof result, 'object');
  if (!result.ok) {
    assert.ok(['pacc_too_large', 'pacc_bad_encoding', 'pacc_bad_json', 'pacc_invalid'].includes(result.error), JSON.stringify(result));
    return;
  }
  const { servers, jmap, oauthIssuer, providerName } = result.data;
  const seen = new Set<string>();
  for (const server of servers) {
    assertServerInvariants(server);
    assert.equal(server.port, PACC_PORTS[server.protocol]);
    assert.equal(server.security, 'tls');
    assert.equal(server.username, '%EMAILADDRESS%');
    const key = `${server.protocol} ${server.host}`;
    assert.ok(!seen.has(key), `duplicate ${key}`);
    seen.add(key);
  }
  for (const protocol of ['imap', 'pop3'] as const) assert.ok(servers.filter((server) => server.protocol === protocol).length <= PACC_MAX_PER_PROTOCOL);
  assert.ok(servers.filter((server) => server.protocol === 'smtp').length <= 2 * PACC_MAX_PER_PROTOCOL);
  assert.ok(jmap.length <= PACC_MAX_PER_PROTOCOL);
  for (const value of jmap) {
    assertHttpsUrl(value);
    assert.ok(isPublicHostName(new URL(value).hostname), String(new URL(value).hostname));
  }
  if (oauthIssuer !== undefined) assertHttpsUrl(oauthIssuer);
  if (providerName !== undefined) {
    assert.ok(providerName.length > 0 && providerName.length <= 120);
    assert.doesNotMatch(providerName, /[\u0000-\u001f\u007f]/);
  }
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
/** TXT values: well-formed UAAC1 records (right or wrong digest), near misses and junk. */
const txtValue = (document: Uint8Array) =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(paccTxtValue(document)) },
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((digest) => `v=UAAC1; a=sha256; d=${base64(digest)}`) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.constantFrom('v=UAAC1', 'v = uaac1', 'v=UAAC2', 'V=UAAC1', '', 'x=1', 'v=UAAC1;v=UAAC1'),
          fc.constantFrom('a=sha256', 'a=SHA256', 'a=sha512', 'a=', '', 'a=sha256;a=sha256'),
          fc.oneof(
            fc.constant(`d=${base64(createHash('sha256').update(document).digest())}`),
            fc.uint8Array({ maxLength: 40 }).map((digest) => `d=${base64(digest)}`),
            fc.constantFrom('d=', 'd=!!!!', 'd=AAAA AAAA', 'd=A', ''),
          ),
          fc.constantFrom(';', '; ', ' ;', ';;', '\t;'),
          fc.shuffledSubarray([0, 1, 2], { minLength: 3 }),
        )
        .map(([v, a, d, sep, order]) => [v, a, d].map((_, i) => [v, a, d][order[i] ?? i]).join(sep)),
    },
    { weight: 1, arbitrary: anyString(100) },
    { weight: 1, arbitrary: fc.string({ minLength: 1000, maxLength: 1100, unit: fc.constantFrom('v', '=', 'a', ';', 'A') }) },
  );

describe('fuzz: the PACC readers (parsePaccJson, parsePaccTxt, verifyPaccDigest)', () => {
  it('parsePaccJson never throws on arbitrary bytes', async (t) => {
    await runProperty(
      t,
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), anyString(300).map((text) => encoder.encode(text))), (bytes) => {
        assertPaccResult(parsePaccJson(bytes));
      }),
      1000,
    );
  });

  it('parsePaccJson never throws on hostile documents, and every server satisfies the invariants', async (t) => {
    await runProperty(
      t,
      fc.property(paccBytes, (bytes) => {
        assertPaccResult(parsePaccJson(bytes));
      }),
      1200,
    );
  });

  it('parsePaccTxt never throws; an accepted record carries a 32-byte SHA-256 digest', async (t) => {
    await runProperty(
      t,
      fc.property(fc.uint8Array({ maxLength: 64 }).chain(txtValue), (value) => {
        const record = parsePaccTxt(value);
        if (record.ok) {
          assert.equal(record.algorithm, 'sha256');
          assert.equal(record.digest.length, 32);
        } else {
          assert.ok(['other', 'malformed', 'unsupported_algorithm'].includes(record.reason), JSON.stringify(record));
        }
      }),
      1000,
    );
  });

  it('verifyPaccDigest never throws and vouches for a document exactly when a readable record carries its digest', async (t) => {
    const documentAndTxt = fc
      .uint8Array({ maxLength: 200 })
      .chain((document) => fc.tuple(fc.constant(document), fc.array(txtValue(document), { maxLength: PACC_MAX_TXT_RECORDS + 5 })));
    await runProperty(
      t,
      fc.property(documentAndTxt, ([document, values]) => {
        const verdict = verifyPaccDigest(document, values);
        const digest = createHash('sha256').update(document).digest();
        const vouching = values
          .slice(0, PACC_MAX_TXT_RECORDS)
          .map(parsePaccTxt)
          .some((record) => record.ok && record.digest.equals(digest));
        assert.equal(verdict.ok, vouching, JSON.stringify({ verdict, values }));
        if (values.slice(0, PACC_MAX_TXT_RECORDS).includes(paccTxtValue(document))) assert.ok(verdict.ok);
      }),
      600,
    );
  });
});
