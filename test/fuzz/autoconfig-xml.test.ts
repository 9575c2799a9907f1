import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isPublicHostName } from '../../src/api/input.js';
import { parseAutoconfigXml, type AutoconfigParseResult } from '../../src/formats/autoconfig-xml.js';
import { anyString, assertHttpsUrl, assertServerInvariants, runProperty } from './fuzz-options.js';
import { GOOD_HOSTS, GOOD_PORTS, HOST_VALUES, PORT_VALUES, PROTOTYPE_NAMES, USERNAME_VALUES, element, entityRef, escapeXml, junkElement, someOf, valueFrom } from './xml-arbitraries.js';

const SERVER_TYPES = ['imap', 'IMAP', 'pop3', 'Pop3', 'smtp', 'SMTP', 'jmap', 'ews', 'activesync', 'exchange', '', 'imap4', 'pop'];
const SOCKET_TYPES = ['SSL', 'ssl', 'STARTTLS', 'starttls', 'plain', 'TLS', 'tls', 'ssl/tls', 'auto', '', 'none', 'SSL '];
const AUTH_VALUES = [
  'password-cleartext', 'plain', 'password-encrypted', 'secure', 'OAuth2', 'oauth', 'NTLM', 'GSSAPI', 'client-IP-address', 'TLS-client-cert', 'none',
  'unknown', '', 'password-cleartext ',
];
const URLS = ['https://example.com/help', 'https://jmap.example.com/.well-known/jmap', 'http://example.com/', 'https://user:pw@example.com/', 'https://', 'javascript:alert(1)', 'https://exa mple.com/', 'https://[::1]/', 'https://127.0.0.1/x', `https://example.com/${'a'.repeat(2100)}`];
const DOMAINS = ['example.com', 'EXAMPLE.com', 'example.com.', 'localhost', '127.0.0.1', 'bücher.de', '', 'mail.example.org', '%EMAILDOMAIN%'];

const LANGS = ['en', 'de', 'DE-at', 'pt_BR', 'zh-hant-tw', 'en', '', 'english', 'e', 'en-', 'x'.repeat(40), 'de ch', '&#101;n', ...PROTOTYPE_NAMES];
const TEXTS = ['Turn on IMAP access first.', 'Hilfe', 'x'.repeat(800), '\u202eevil\u202c', 'a\u0001b\u0085c', '', '   ', '<b>bold</b>', '&#x1b;[31m'];
const attribute = (name: string, value: string | undefined) => (value === undefined ? '' : ` ${name}="${value.replace(/[<&"]/g, '')}"`);

/** `<instruction>` or `<descr>` elements: hostile language tags and texts, more than the reader keeps. */
const languageTexts = (name: 'instruction' | 'descr') =>
  someOf(
    fc.tuple(fc.option(fc.constantFrom(...LANGS), { nil: undefined, freq: 8 }), valueFrom(TEXTS, 2)).chain(([lang, text]) => element(name, text, attribute('lang', lang))),
    11,
  );
const enableSection = fc
  .tuple(fc.option(fc.constantFrom(...URLS), { nil: undefined, freq: 5 }), languageTexts('instruction'))
  .chain(([url, texts]) => element('enable', texts, attribute('visiturl', url)));
const documentationSection = fc
  .tuple(fc.option(fc.constantFrom(...URLS), { nil: undefined, freq: 8 }), languageTexts('descr'))
  .chain(([url, texts]) => element('documentation', texts, attribute('url', url)));

const serverSection = (kind: 'incomingServer' | 'outgoingServer') =>
  fc
    .tuple(
      fc.option(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...(kind === 'incomingServer' ? ['imap', 'IMAP', 'pop3', 'jmap', 'ews', 'activesync'] : ['smtp', 'SMTP'])) },
          { weight: 1, arbitrary: fc.constantFrom(...SERVER_TYPES, ...PROTOTYPE_NAMES, ' imap', 'imap\u0000', '&amp;') },
        ),
        { nil: undefined, freq: 20 },
      ),
      someOf(valueFrom(HOST_VALUES, GOOD_HOSTS).chain((host) => element('hostname', host)), 2, 1),
      someOf(valueFrom(PORT_VALUES, GOOD_PORTS).chain((port) => element('port', port)), 2, 1),
      someOf(valueFrom(SOCKET_TYPES, 5).chain((type) => element('socketType', type)), 3, 1),
      someOf(valueFrom(USERNAME_VALUES, 5).chain((name) => element('username', name)), 2),
      someOf(
        fc.tuple(valueFrom(AUTH_VALUES, 11), fc.constantFrom('', '', ' system="http"', ' system=""')).chain(([value, system]) => element('authentication', value, system)),
        4,
      ),
      someOf(valueFrom(URLS).chain((url) => element('url', url)), 1),
    )
    .chain(([type, ...children]) =>
      fc.shuffledSubarray(children, { minLength: children.length }).chain((shuffled) =>
        element(kind, shuffled.join(''), type === undefined ? '' : ` type="${type}"`),
      ),
    );

const oauth2Section = fc
  .tuple(
    someOf(valueFrom(['accounts.example.com', 'https://accounts.example.com', 'http://x.com', '127.0.0.1', 'localhost', '']).chain((v) => element('issuer', v)), 2),
    someOf(valueFrom(['IMAP SMTP', 'https://mail.example.com/', '', 'a '.repeat(300)]).chain((v) => element('scope', v)), 2),
    someOf(valueFrom(URLS).chain((v) => element('authURL', v)), 1),
    someOf(valueFrom(URLS).chain((v) => element('tokenURL', v)), 1),
  )
  .chain((children) => element('oAuth2', children.join('')));

const providerSection = fc
  .tuple(
    someOf(
      fc.tuple(valueFrom(DOMAINS), fc.constantFrom('', '', ' purpose="mx"', ' purpose="MX"', ' purpose="other"')).chain(([domain, purpose]) => element('domain', domain, purpose)),
      4,
    ),
    someOf(valueFrom(['Example Mail', '', 'x'.repeat(300), '\u202eevil']).chain((name) => element('displayName', name)), 2),
    someOf(serverSection('incomingServer'), 3, 1),
    someOf(serverSection('outgoingServer'), 2, 1),
    someOf(documentationSection, 6),
    someOf(enableSection, 6),
    fc.option(valueFrom(['example.com', '', 'x'.repeat(300), '&#1;id']), { nil: undefined }),
  )
  .chain(([domains, names, incoming, outgoing, docs, enables, id]) =>
    element('emailProvider', `${domains}${names}${incoming}${outgoing}${docs}${enables}`, id === undefined ? '' : ` id="${id.replace(/[<&"]/g, '')}"`),
  );

/** A structurally plausible, hostile config-v1.1.xml (sometimes with a declaration, a BOM, junk around it). */
const autoconfigDocument = fc
  .tuple(
    fc.constantFrom('', '<?xml version="1.0" encoding="UTF-8"?>\n', '\ufeff<?xml version="1.0"?>', '<!-- pre -->', ' '),
    fc.constantFrom('', ' version="1.1"', ' version="1.2"', ' xmlns="urn:x"'),
    someOf(providerSection, 2, 1),
    someOf(oauth2Section, 1),
    fc.constantFrom('', '', '<!-- post -->', '\n', '<?pi x?>', '<extra/>'),
  )
  .map(([prolog, version, providers, oauth, tail]) => `${prolog}<clientConfig${version}>${providers}${oauth}</clientConfig>${tail}`);

/** Mutations of a valid document: a cut, a duplicated slice, an inserted fragment. */
const mutatedDocument = fc
  .tuple(autoconfigDocument, fc.nat(), fc.nat(), fc.oneof(entityRef, junkElement, fc.constantFrom('<', '</x>', '<!DOCTYPE x>', '<!ENTITY e "x">', ']]>', '\u0000', '"')))
  .map(([xml, a, b, insert]) => {
    const at = a % (xml.length + 1);
    const mode = b % 3;
    if (mode === 0) return xml.slice(0, at);
    if (mode === 1) return xml.slice(0, at) + xml.slice(b % (xml.length + 1));
    return xml.slice(0, at) + insert + xml.slice(at);
  });

/** Every invariant of a reader result: servers, domains, URLs and lengths. */
function assertAutoconfigResult(result: AutoconfigParseResult): void {
  assert.equal(typeof result, 'object');
  if (!result.ok) {
    assert.ok(['doctype_refused', 'malformed_xml', 'not_autoconfig', 'too_complex'].includes(result.error), JSON.stringify(result));
    assert.equal(typeof result.message, 'string');
    return;
  }
  const { data, dropped } = result;
  for (const server of data.incoming) {
    assertServerInvariants(server);
    assert.ok(server.protocol === 'imap' || server.protocol === 'pop3', JSON.stringify(server));
  }
  for (const server of data.outgoing) {
    assertServerInvariants(server);
    assert.equal(server.protocol, 'smtp', JSON.stringify(server));
  }
  for (const server of data.urlServers) {
    assert.ok(['jmap', 'ews', 'activesync'].includes(server.kind), JSON.stringify(server));
    assertHttpsUrl(server.url);
  }
  for (const domain of [...data.domains, ...data.mxDomains]) assert.ok(isPublicHostName(domain), String(domain));
  for (const url of data.documentation) assert.match(url, /^https:\/\/\S+$/);
  assert.ok(data.instructions.length <= 5 && data.documentationPages.length <= 5, JSON.stringify(data));
  for (const entry of [...data.instructions, ...data.documentationPages]) {
    if (entry.url !== undefined) assertHttpsUrl(entry.url);
    assert.ok(entry.texts.length <= 10, JSON.stringify(entry));
    assert.equal(new Set(entry.texts.map(({ lang }) => lang)).size, entry.texts.length, JSON.stringify(entry));
    for (const { lang, text } of entry.texts) {
      assert.match(lang, /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/);
      assert.ok(text.length > 0 && text === text.trim() && Array.from(text).length <= 500, JSON.stringify(text));
      assert.doesNotMatch(text, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, JSON.stringify(text));
    }
  }
  for (const page of data.documentationPages) assertHttpsUrl(page.url);
  if (data.id !== undefined) assert.ok(data.id.length <= 200);
  if (data.displayName !== undefined) assert.ok(data.displayName.length <= 200);
  if (data.oauth2) {
    assert.ok(data.oauth2.issuer.length > 0 && data.oauth2.issuer.length <= 253);
    assert.ok(data.oauth2.scopes.length <= 20);
    if (data.oauth2.authorizationEndpoint) assertHttpsUrl(data.oauth2.authorizationEndpoint);
    if (data.oauth2.tokenEndpoint) assertHttpsUrl(data.oauth2.tokenEndpoint);
  }
  assert.ok(dropped.every((reason) => typeof reason === 'string'));
}

const lookupDomain = fc.constantFrom(undefined, 'example.com', 'xn--bcher-kva.de', 'mail.example.org');
const parse = (xml: string, domain: string | undefined) => parseAutoconfigXml(xml, domain === undefined ? {} : { domain });

describe('fuzz: the autoconfig reader (parseAutoconfigXml)', () => {
  it('never throws on arbitrary strings', async (t) => {
    await runProperty(
      t,
      fc.property(fc.oneof(anyString(500), fc.string({ unit: fc.constantFrom('<', '>', '/', '!', '?', '&', ';', '"', '=', 'a', ' ', '[', ']', '-') })), lookupDomain, (xml, domain) => {
        assertAutoconfigResult(parse(xml, domain));
      }),
      1000,
    );
  });

  it('never throws on hostile autoconfig documents, and every server it returns satisfies the invariants', async (t) => {
    await runProperty(
      t,
      fc.property(autoconfigDocument, lookupDomain, (xml, domain) => {
        assertAutoconfigResult(parse(xml, domain));
      }),
      800,
    );
  });

  it('never throws on mutated documents (cuts, repeats, DOCTYPE/ENTITY and junk inserted)', async (t) => {
    await runProperty(
      t,
      fc.property(mutatedDocument, lookupDomain, (xml, domain) => {
        assertAutoconfigResult(parse(xml, domain));
      }),
      300,
    );
  });
});
