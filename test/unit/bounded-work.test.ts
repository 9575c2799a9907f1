import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parseAutodiscoverXml } from '../../src/formats/autodiscover-xml.js';
import {
  AUTODISCOVER_MAX_BYTES,
  DOCUMENT_MAX_BYTES,
  MAX_SERVERS_PER_PROTOCOL,
  scanXml,
  XML_MAX_ATTRIBUTES,
  XML_MAX_DEPTH,
  XML_MAX_ELEMENTS,
} from '../../src/formats/document-limits.js';
import { paccTxtValue, parsePaccJson } from '../../src/formats/pacc-json.js';
import { discoverySize, toLookupResult } from '../../src/lookup/lookup-service.js';
import type { FetchOptions, HttpResult } from '../../src/net/http.js';
import { Discoverer, type Discovery } from '../../src/resolver/discoverer.js';
import { fetchAutoconfig } from '../../src/sources/autoconfig-fetch.js';
import { parseAutoconfigXml } from '../../src/formats/autoconfig-xml.js';
import { createAutodiscoverSource } from '../../src/sources/autodiscover.js';
import { createPaccSource } from '../../src/sources/pacc.js';
import type { CandidateServer, Source, SourceContext, SourceResult } from '../../src/sources/types.js';
import { autoconfigXml, autodiscoverXml, paccJson } from '../helpers/autoconfig-docs.js';
import { FakeDns, FakeHttp, found } from '../helpers/fakes.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };
const subject = { domain: 'example.test', email: 'jane@example.test', localPart: 'jane' };

const wrap = (inner: string) => `<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="x.test">${inner}</emailProvider></clientConfig>`;
const server = (kind: 'incomingServer' | 'outgoingServer', type: string, host: string) =>
  `<${kind} type="${type}"><hostname>${host}</hostname><port>993</port><socketType>SSL</socketType><authentication>password-cleartext</authentication></${kind}>`;
const adWrap = (inner: string) =>
  `<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"><Account><AccountType>email</AccountType><Action>settings</Action>${inner}</Account></Response></Autodiscover>`;
const adProtocol = (type: string, host: string) => `<Protocol><Type>${type}</Type><Server>${host}</Server><Port>993</Port><SSL>on</SSL></Protocol>`;

/**
 * A document shaped like the largest ISPDB file (mail.com.xml: 8,712 bytes, 233 elements, mostly
 * <domain> entries), made up here: 200 domains, six incoming and three outgoing servers, help links.
 */
function realisticAutoconfig(): string {
  const domains = Array.from({ length: 200 }, (_, index) => `<domain>mail-${index}.example.test</domain>`).join('\n    ');
  const incoming = ['imap', 'imap', 'imap', 'pop3', 'pop3', 'pop3'].map((type, index) => server('incomingServer', type, `${type}${index}.example.test`)).join('\n    ');
  const outgoing = [0, 1, 2].map((index) => server('outgoingServer', 'smtp', `smtp${index}.example.test`)).join('\n    ');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- A comment with < and = signs, as real files have: a=b -->
<clientConfig version="1.1">
  <emailProvider id="example.test">
    ${domains}
    <displayName>Example Mail</displayName>
    <displayShortName>Example</displayShortName>
    ${incoming}
    ${outgoing}
    <documentation url="https://help.example.test/mail?lang=en&amp;x=1"><descr lang="en">Help</descr></documentation>
  </emailProvider>
</clientConfig>
`;
}

describe('scanXml: counts before parsing', () => {
  it('counts elements, attributes and depth; quoted values, comments and CDATA count for nothing', () => {
    const result = scanXml('<?xml version="1.0"?><a x="1>2=3" y=\'<\'><!-- <b c="d"> --><b/><c><![CDATA[<e f="g">]]></c></a>');
    assert.ok(result.ok);
    assert.deepEqual(result.counts, { elements: 3, attributes: 2, depth: 2 });
  });

  it('stops at the first cap passed', () => {
    const result = scanXml('<a>' + '<b/>'.repeat(10) + '</a>', { maxElements: 5, maxAttributes: 5, maxDepth: 5 });
    assert.ok(!result.ok && result.error === 'too_complex' && /more than 5 elements/.test(result.message));
  });
});

for (const [name, read] of [
  ['parseAutoconfigXml', (inner: string) => parseAutoconfigXml(wrap(inner), { domain: 'x.test' })],
  ['parseAutodiscoverXml', (inner: string) => parseAutodiscoverXml(adWrap(inner), { address: 'a@x.test' })],
] as const) {
  describe(`${name}: element, attribute and depth caps`, () => {
    it(`refuses more than ${XML_MAX_ELEMENTS} elements as too_complex`, () => {
      const result = read('<x/>'.repeat(XML_MAX_ELEMENTS));
      assert.equal(result.ok ? 'ok' : result.error, 'too_complex');
    });

    it(`refuses more than ${XML_MAX_ATTRIBUTES} attributes as too_complex (even on one element)`, () => {
      const attributes = Array.from({ length: XML_MAX_ATTRIBUTES }, (_, index) => ` a${index}=""`).join('');
      const result = read(`<x${attributes}/>`);
      assert.equal(result.ok ? 'ok' : result.error, 'too_complex');
    });

    it(`refuses more than ${XML_MAX_DEPTH} levels of nesting as too_complex`, () => {
      const result = read(`${'<d>'.repeat(XML_MAX_DEPTH)}${'</d>'.repeat(XML_MAX_DEPTH)}`);
      assert.equal(result.ok ? 'ok' : result.error, 'too_complex');
    });

    it('reads a document just within the caps', () => {
      const result = read('<x a="1"/>'.repeat(XML_MAX_ATTRIBUTES - 10) + '<x/>'.repeat(XML_MAX_ELEMENTS - XML_MAX_ATTRIBUTES - 10) + `${'<d>'.repeat(XML_MAX_DEPTH - 6)}${'</d>'.repeat(XML_MAX_DEPTH - 6)}`);
      assert.ok(result.ok, JSON.stringify(result).slice(0, 200));
    });
  });
}

describe('the largest realistic documents still parse', () => {
  it('an autoconfig file shaped like the largest ISPDB file', () => {
    const xml = realisticAutoconfig();
    assert.ok(xml.length > 8 * 1024 && xml.length < DOCUMENT_MAX_BYTES, `${xml.length} bytes`);
    const result = parseAutoconfigXml(xml, { domain: 'example.test' });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.data.domains.length, 200);
    assert.equal(result.data.incoming.length, 6);
    assert.equal(result.data.outgoing.length, 3);
  });

  it('an Exchange answer with many Protocol sections and URLs', () => {
    const exch = `<Protocol><Type>EXCH</Type><Server>ex.example.test</Server><ASUrl>https://ex.example.test/EWS/Exchange.asmx</ASUrl><EwsUrl>https://ex.example.test/EWS/Exchange.asmx</EwsUrl><OOFUrl>https://ex.example.test/EWS/Exchange.asmx</OOFUrl><OABUrl>https://ex.example.test/OAB/</OABUrl><Internal><OWAUrl AuthenticationMethod="Basic, Fba">https://ex.example.test/owa/</OWAUrl></Internal></Protocol>`;
    const xml = adWrap(`${exch.repeat(20)}${adProtocol('IMAP', 'imap.example.test')}${adProtocol('SMTP', 'smtp.example.test')}`);
    assert.ok(xml.length > 8 * 1024 && xml.length < AUTODISCOVER_MAX_BYTES);
    const result = parseAutodiscoverXml(xml, { address: 'a@example.test' });
    assert.ok(result.ok && result.action === 'settings' && result.servers.length === 2, JSON.stringify(result).slice(0, 300));
  });
});

describe('servers per protocol in the readers', () => {
  it(`autoconfig keeps the first ${MAX_SERVERS_PER_PROTOCOL} of each protocol, in document order, and says what it dropped`, () => {
    const imap = Array.from({ length: 25 }, (_, index) => server('incomingServer', 'imap', `imap${index}.x.test`)).join('');
    const pop3 = Array.from({ length: 3 }, (_, index) => server('incomingServer', 'pop3', `pop${index}.x.test`)).join('');
    const smtp = Array.from({ length: 15 }, (_, index) => server('outgoingServer', 'smtp', `smtp${index}.x.test`)).join('');
    const result = parseAutoconfigXml(wrap(imap + pop3 + smtp), { domain: 'x.test' });
    assert.ok(result.ok);
    assert.deepEqual(
      result.data.incoming.map((entry) => entry.host),
      [...Array.from({ length: 10 }, (_, index) => `imap${index}.x.test`), 'pop0.x.test', 'pop1.x.test', 'pop2.x.test'],
    );
    assert.equal(result.data.outgoing.length, 10);
    assert.match(result.dropped[0] ?? '', /15 imap, 5 smtp server\(s\) beyond the first 10 per protocol dropped/);
  });

  it('autoconfig lists at most 10 reasons for dropped sections, then counts the rest', () => {
    const broken = Array.from({ length: 50 }, (_, index) => server('incomingServer', 'imap', `bad host ${index}`)).join('');
    const result = parseAutoconfigXml(wrap(broken + server('incomingServer', 'imap', 'imap.x.test')));
    assert.ok(result.ok);
    assert.equal(result.dropped.length, 11);
    assert.equal(result.dropped[10], 'and 40 more');
  });

  it(`Autodiscover keeps the first ${MAX_SERVERS_PER_PROTOCOL} of each protocol`, () => {
    const sections = Array.from({ length: 14 }, (_, index) => adProtocol('IMAP', `imap${index}.x.test`)).join('') + adProtocol('POP3', 'pop.x.test');
    const result = parseAutodiscoverXml(adWrap(sections), { address: 'a@x.test' });
    assert.ok(result.ok && result.action === 'settings');
    assert.equal(result.servers.filter((entry) => entry.protocol === 'imap').length, 10);
    assert.equal(result.servers.filter((entry) => entry.protocol === 'pop3').length, 1);
    assert.ok(result.dropped.some((reason) => /4 imap server\(s\) beyond the first 10/.test(reason)));
  });

  it('PACC keeps at most 10 SMTP servers across `smtp` and `submit`', () => {
    const list = (prefix: string) => Array.from({ length: 10 }, (_, index) => ({ host: `${prefix}${index}.x.test` }));
    const result = parsePaccJson(Buffer.from(JSON.stringify({ protocols: { imap: { host: 'imap.x.test' }, smtp: list('smtp'), submit: list('submit') } })));
    assert.ok(result.ok);
    assert.equal(result.data.servers.filter((entry) => entry.protocol === 'smtp').length, 10);
    assert.ok(result.dropped.some((reason) => /10 smtp server\(s\) beyond the first 10/.test(reason)));
  });
});

/** A body whose reading is counted: reading it is what parsing it starts with. */
function countedBody(result: Extract<HttpResult, { ok: true }>): { result: HttpResult; reads: () => number } {
  let reads = 0;
  const body = result.body;
  const counted = { ...result } as Extract<HttpResult, { ok: true }>;
  Object.defineProperty(counted, 'body', { get: () => ((reads += 1), body), enumerable: true });
  return { result: counted, reads: () => reads };
}

/** Resolves once the signal aborts: the body "arrives" just as the lookup is decided. */
const untilAbort = (signal: AbortSignal | undefined) => new Promise<void>((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve(), { once: true })));

describe('no parsing once the lookup is decided', () => {
  it('fetchAutoconfig asks for DOCUMENT_MAX_BYTES and drops a body that arrives after the abort unparsed', async () => {
    const controller = new AbortController();
    const url = 'https://autoconfig.example.test/mail/config-v1.1.xml';
    const body = countedBody({ ok: true, status: 200, body: autoconfigXml('example.test'), url, contentType: 'text/xml', redirects: 0 });
    const asked: FetchOptions[] = [];
    const http = new FakeHttp((request) => {
      asked.push(request);
      controller.abort();
      return body.result;
    });
    const result = await fetchAutoconfig({ http, url, shownUrl: url, source: 'autoconfig', trusted: true, domain: 'example.test', signal: controller.signal });
    assert.equal(asked[0]?.maxBytes, DOCUMENT_MAX_BYTES);
    assert.equal(result.outcome, 'timeout');
    assert.equal(body.reads(), 0);
  });

  it('a lower-ranked autoconfig source whose body arrives as a better source answers is never parsed (resolver)', async () => {
    const url = 'https://autoconfig.example.test/mail/config-v1.1.xml';
    const body = countedBody({ ok: true, status: 200, body: autoconfigXml('example.test'), url, contentType: 'text/xml', redirects: 0 });
    const http = new FakeHttp(async (request) => {
      await untilAbort(request.signal);
      return body.result;
    });
    const better: Source = {
      name: 'better',
      priority: 1,
      lookup: async () => ({ outcome: 'found', servers: [candidate('imap.better.test')] }),
    };
    // What the worse source did with the body, once it had it: awaited below, not guessed at.
    let worseEnded: Promise<SourceResult> | undefined;
    const worse: Source = {
      name: 'worse',
      priority: 50,
      lookup: ({ signal }) => (worseEnded = fetchAutoconfig({ http, url, shownUrl: url, source: 'autoconfig', trusted: true, domain: 'example.test', signal })),
    };
    const discovery = await new Discoverer([better, worse]).resolve({ subject, deadlineMs: 2000, log });
    assert.equal(discovery.incoming[0]?.host, 'imap.better.test');
    assert.equal((await worseEnded)?.outcome, 'timeout', 'the worse source ended as aborted');
    assert.equal(body.reads(), 0);
  });

  it('Autodiscover asks for AUTODISCOVER_MAX_BYTES and drops an answer that arrives after the abort unparsed', async () => {
    const controller = new AbortController();
    const url = 'https://autodiscover.example.test/autodiscover/autodiscover.xml';
    const bodies: ReturnType<typeof countedBody>[] = [];
    const asked: FetchOptions[] = [];
    const http = new FakeHttp((request) => {
      assert.equal(request.method, 'POST');
      asked.push(request);
      controller.abort();
      const body = countedBody({ ok: true, status: 200, body: autodiscoverXml('example.test'), url: request.url, contentType: 'text/xml', redirects: 0 });
      bodies.push(body);
      return body.result;
    });
    // No _autodiscover._tcp record: every SRV question is NXDOMAIN.
    const dns = new FakeDns();
    const context: SourceContext = { subject, signal: controller.signal, log };
    const result = await createAutodiscoverSource({ http, dns }).lookup(context);
    assert.ok(asked.length > 0 && asked.every((options) => options.maxBytes === AUTODISCOVER_MAX_BYTES));
    assert.equal(result.outcome, 'timeout', JSON.stringify(result));
    assert.ok(url && bodies.every((body) => body.reads() === 0));
  });

  it('PACC asks for its cap and drops a document that arrives after the abort unread', async () => {
    const controller = new AbortController();
    const document = Buffer.from(paccJson('example.test'));
    const asked: FetchOptions[] = [];
    let reads = 0;
    const http = new FakeHttp((request) => {
      asked.push(request);
      controller.abort();
      const result: Extract<HttpResult, { ok: true }> = { ok: true, status: 200, body: document.toString(), url: request.url, contentType: 'application/json', redirects: 0 };
      Object.defineProperty(result, 'bytes', { get: () => ((reads += 1), document), enumerable: true });
      return result;
    });
    const dns = new FakeDns({ txt: () => found([paccTxtValue(document)], undefined) });
    const result = await createPaccSource({ http, dns }).lookup({ subject, signal: controller.signal, log });
    assert.equal(asked[0]?.maxBytes, DOCUMENT_MAX_BYTES);
    assert.equal(result.outcome, 'timeout', JSON.stringify(result));
    assert.equal(reads, 0);
  });
});

function candidate(host: string, overrides: Partial<CandidateServer> = {}): CandidateServer {
  return { protocol: 'imap', host, port: 993, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: `test:${host}`, trusted: true, ...overrides };
}

describe('servers per protocol in the answer (merge)', () => {
  it(`keeps at most ${MAX_SERVERS_PER_PROTOCOL} per source and per answer, the best-ranked first, and notes the cut`, async () => {
    const many: SourceResult = {
      outcome: 'found',
      servers: [
        ...Array.from({ length: 25 }, (_, index) => candidate(`imap${index}.worse.test`)),
        ...Array.from({ length: 12 }, (_, index) => candidate(`smtp${index}.worse.test`, { protocol: 'smtp', port: 465 })),
      ],
    };
    const worse: Source = { name: 'worse', priority: 20, lookup: async () => many };
    // The better-ranked source answers last (released below), so both answers are merged.
    let answerBetter: (result: SourceResult) => void = () => {};
    const better: Source = { name: 'better', priority: 10, lookup: () => new Promise((resolve) => (answerBetter = resolve)) };
    const pending = new Discoverer([worse, better]).resolve({ subject, deadlineMs: 2000, log });
    // One event-loop turn: the worse source's answer, settled already, has been taken in.
    await nextTurn();
    answerBetter({ outcome: 'found', servers: [1, 2, 3, 4].map((index) => candidate(`imap${index}.better.test`)) });
    const discovery = await pending;
    assert.equal(discovery.incoming.length, MAX_SERVERS_PER_PROTOCOL);
    assert.deepEqual(discovery.incoming.slice(0, 4).map((entry) => entry.host), ['imap1.better.test', 'imap2.better.test', 'imap3.better.test', 'imap4.better.test']);
    assert.deepEqual(discovery.incoming.slice(4).map((entry) => entry.host), [0, 1, 2, 3, 4, 5].map((index) => `imap${index}.worse.test`));
    assert.equal(discovery.outgoing.length, MAX_SERVERS_PER_PROTOCOL);
    const report = discovery.sources.find((entry) => entry.name === 'worse');
    assert.match(report?.detail ?? '', /15 imap, 2 smtp server\(s\) beyond the first 10 per protocol dropped/);
    assert.match(report?.detail ?? '', /4 imap server\(s\) beyond the first 10 per protocol of the answer dropped/);
  });
});

describe('the cache byte bound counts the rendered answer', () => {
  it('a found discovery is charged for itself and for its rendered, memoised answer', () => {
    const servers = Array.from({ length: 10 }, (_, index) => candidate(`imap${index}.example.test`));
    const discovery: Discovery = {
      found: true,
      provider: null,
      incoming: servers,
      outgoing: [candidate('smtp.example.test', { protocol: 'smtp', port: 465 })],
      alternatives: [],
      instructions: [],
      warnings: [],
      sources: [{ name: 'autoconfig', outcome: 'found', ms: 1, detail: 'x'.repeat(500) }],
      ttlS: undefined,
      degraded: false,
    };
    const rendered = JSON.stringify(toLookupResult(discovery, { domain: 'example.test', email: null, localPart: null }, true)).length;
    assert.ok(discoverySize(discovery) >= JSON.stringify(discovery).length * 2 + rendered * 2, `${discoverySize(discovery)}`);
  });

  it('a discovery without servers is charged for itself only (its answer is not kept)', () => {
    const discovery: Discovery = { found: false, provider: null, incoming: [], outgoing: [], alternatives: [], instructions: [],
      warnings: [], sources: [], ttlS: undefined, degraded: false };
    assert.equal(discoverySize(discovery), JSON.stringify(discovery).length * 2);
  });
});
