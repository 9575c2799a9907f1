import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAutodiscoverXml, type AutodiscoverParseResult } from '../../src/formats/autodiscover-xml.js';
import { isPublicHostName } from '../../src/api/input.js';
import { anyString, assertHttpsUrl, assertServerInvariants, runProperty } from './fuzz-options.js';
import { GOOD_HOSTS, GOOD_PORTS, HOST_VALUES, PORT_VALUES, PROTOTYPE_NAMES, element, entityRef, junkElement, someOf, valueFrom } from './xml-arbitraries.js';

const TYPES = ['IMAP', 'POP3', 'SMTP', 'imap', 'EXCH', 'EXPR', 'WEB', 'mapiHttp', 'EXHTTP', 'DAV', '', 'imap4'];
const ON_OFF = ['on', 'off', 'ON', 'Off', '', 'yes', 'true', '1'];
const ENCRYPTIONS = ['None', 'SSL', 'TLS', 'Auto', 'ssl', '', 'STARTTLS', 'yes'];
const LOGIN_NAMES = ['someone@example.com', 'someone', 'SOMEONE', 'other.user', '', 'a\u0001b', '&#1;', 'x'.repeat(330), 'DOMAIN\\someone'];
const URLS = ['https://mail.example.com/EWS/Exchange.asmx', 'http://mail.example.com/', 'https://user:pw@example.com/', 'https://', 'javascript:alert(1)', 'https://[::1]/x', 'https://exa mple.com/'];
const ADDRESSES = ['other@example.com', 'other@EXAMPLE.com.', 'other@localhost', 'a@b@c.com', '@example.com', 'other@127.0.0.1', 'x'.repeat(65) + '@example.com', 'other @example.com', 'other@bücher.de'];
const ADDRESS = 'someone@example.com';

/** The part one time in five, else nothing. */
const rarely = (part: fc.Arbitrary<string>) => fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: part });

const protocolSection = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: someOf(valueFrom(TYPES, 4).chain((type) => element('Type', type)), 2, 1) },
      { weight: 1, arbitrary: fc.constant('') },
    ),
    someOf(valueFrom(HOST_VALUES, GOOD_HOSTS).chain((host) => element('Server', host)), 2, 1),
    someOf(valueFrom(PORT_VALUES, GOOD_PORTS).chain((port) => element('Port', port)), 2, 1),
    someOf(valueFrom(ON_OFF, 4).chain((value) => element('SSL', value)), 2),
    someOf(valueFrom(ENCRYPTIONS, 4).chain((value) => element('Encryption', value)), 2),
    someOf(valueFrom(ON_OFF, 4).chain((value) => element('SPA', value)), 1),
    someOf(valueFrom(ON_OFF, 4).chain((value) => element('AuthRequired', value)), 1),
    someOf(valueFrom(LOGIN_NAMES, 4).chain((value) => element('LoginName', value)), 2),
    someOf(valueFrom(URLS, 1).chain((value) => element('EwsUrl', value)), 1),
    fc.constantFrom('', '', '', ' Type="mapiHttp"', ' Type="IMAP"', ' Type="constructor"'),
  )
  .chain(([type, ...rest]) => {
    const attribute = rest.pop() ?? '';
    return fc.shuffledSubarray([type, ...rest], { minLength: rest.length + 1 }).chain((children) => element('Protocol', children.join(''), attribute));
  });

const accountSection = fc
  .tuple(
    someOf(valueFrom(['email', 'EMAIL', 'exchange', '', 'constructor'], 2).chain((value) => element('AccountType', value)), 1),
    someOf(valueFrom(['settings', 'Settings', 'redirectAddr', 'redirectUrl', 'unknown', '', ...PROTOTYPE_NAMES], 2).chain((value) => element('Action', value)), 2),
    someOf(protocolSection, 5, 1),
    rarely(valueFrom(ADDRESSES, 2).chain((value) => element('RedirectAddr', value))),
    rarely(valueFrom(URLS, 1).chain((value) => element('RedirectUrl', value))),
  )
  .chain((children) => element('Account', children.join('')));

const errorSection = fc
  .tuple(valueFrom(['600', '', 'x'.repeat(100)], 1), valueFrom(['Invalid Request', 'a\u0001b', '', 'x'.repeat(300)], 1))
  .chain(([code, message]) => element('Error', `<ErrorCode>${code}</ErrorCode><Message>${message}</Message>`));

/** A structurally plausible, hostile Autodiscover response. */
const autodiscoverDocument = fc
  .tuple(
    fc.constantFrom('', '<?xml version="1.0" encoding="utf-8"?>', '\ufeff'),
    fc.constantFrom('', ' xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"'),
    someOf(fc.oneof({ weight: 6, arbitrary: accountSection }, { weight: 1, arbitrary: errorSection }), 2, 1),
    fc.constantFrom('', '<!-- tail -->', '<x/>'),
  )
  .chain(([prolog, ns, response, tail]) =>
    element('Response', response, ' xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"').map(
      (body) => `${prolog}<Autodiscover${ns}>${body}</Autodiscover>${tail}`,
    ),
  );

const mutatedDocument = fc
  .tuple(autodiscoverDocument, fc.nat(), fc.nat(), fc.oneof(entityRef, junkElement, fc.constantFrom('<', '</Protocol>', '<!DOCTYPE x>', '<!ENTITY e "x">', '<Protocol>')))
  .map(([xml, a, b, insert]) => {
    const at = a % (xml.length + 1);
    const mode = b % 3;
    if (mode === 0) return xml.slice(0, at);
    if (mode === 1) return xml.slice(0, at) + xml.slice(b % (xml.length + 1));
    return xml.slice(0, at) + insert + xml.slice(at);
  });

/** Invariants of a reader result: servers, templates only (privacy), RFC 8314 port modes, redirects. */
function assertAutodiscoverResult(result: AutodiscoverParseResult): void {
  assert.equal(typeof result, 'object');
  if (!result.ok) {
    assert.ok(
      ['doctype_refused', 'malformed_xml', 'not_autodiscover', 'autodiscover_error', 'unsupported_account', 'invalid_redirect', 'too_complex'].includes(result.error),
      JSON.stringify(result),
    );
    assert.equal(typeof result.message, 'string');
    return;
  }
  if (result.action === 'redirectAddr') {
    const at = result.address.lastIndexOf('@');
    assert.ok(at > 0 && result.address.indexOf('@') === at, result.address);
    assert.ok(isPublicHostName(result.address.slice(at + 1)), String(result.address.slice(at + 1)));
    return;
  }
  if (result.action === 'redirectUrl') {
    assertHttpsUrl(result.url);
    return;
  }
  for (const server of result.servers) {
    assertServerInvariants(server);
    const shown = JSON.stringify(server);
    // Privacy: answers are cached per domain, so the username is always a template.
    assert.ok(server.username === '%EMAILADDRESS%' || server.username === '%EMAILLOCALPART%', shown);
    if ([465, 993, 995].includes(server.port)) assert.equal(server.security, 'tls', shown);
    if ([25, 110, 143, 587].includes(server.port)) assert.notEqual(server.security, 'tls', shown);
  }
  assert.ok(result.servers.length <= 32);
  if (result.ewsUrl !== undefined) assertHttpsUrl(result.ewsUrl);
}

describe('fuzz: the Autodiscover reader (parseAutodiscoverXml)', () => {
  it('never throws on arbitrary strings', async (t) => {
    await runProperty(
      t,
      fc.property(fc.oneof(anyString(500), fc.string({ unit: fc.constantFrom('<', '>', '/', '!', '?', '&', ';', '"', '=', 'a', ' ', '[', ']', '-') })), (xml) => {
        assertAutodiscoverResult(parseAutodiscoverXml(xml, { address: ADDRESS }));
      }),
      1000,
    );
  });

  it('never throws on hostile Autodiscover responses, and every server satisfies the invariants', async (t) => {
    await runProperty(
      t,
      fc.property(autodiscoverDocument, fc.constantFrom(ADDRESS, 'SOMEONE@example.com', '', 'no-at-sign'), (xml, address) => {
        assertAutodiscoverResult(parseAutodiscoverXml(xml, { address }));
      }),
      800,
    );
  });

  it('never throws on mutated responses (cuts, repeats, DOCTYPE/ENTITY and junk inserted)', async (t) => {
    await runProperty(
      t,
      fc.property(mutatedDocument, (xml) => {
        assertAutodiscoverResult(parseAutodiscoverXml(xml, { address: ADDRESS }));
      }),
      300,
    );
  });
});
