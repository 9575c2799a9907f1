import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { normaliseDomain, parseEmail, parseLookupInput, renderUsername, type DomainResult } from '../../src/api/input.js';
import { anyString, runProperty } from './fuzz-options.js';

// The documented rules of an accepted domain (src/api/input.ts), restated independently.
const PRIVATE_TLDS = ['localhost', 'local', 'internal', 'localdomain', 'invalid', 'onion', 'home', 'lan', 'arpa'];
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Every rule an accepted domain must satisfy, and that accepting it again changes nothing. */
function assertAcceptedDomain(domain: string, input: string): void {
  const shown = `${JSON.stringify(input)} -> ${JSON.stringify(domain)}`;
  assert.match(domain, /^[a-z0-9.-]+$/, `not lower-case ASCII: ${shown}`);
  assert.ok(domain.length <= 253, `longer than 253: ${shown}`);
  const labels = domain.split('.');
  assert.ok(labels.length >= 2, `single label: ${shown}`);
  for (const label of labels) assert.match(label, LABEL, `bad label ${JSON.stringify(label)}: ${shown}`);
  const tld = labels[labels.length - 1] ?? '';
  assert.doesNotMatch(tld, /^\d+$/, `numeric TLD: ${shown}`);
  assert.ok(!PRIVATE_TLDS.includes(tld), `private TLD: ${shown}`);
  assert.ok(!ipaddr.isValid(domain), `IP literal: ${shown}`);
  assert.ok(input === input.trim() && !/\s/.test(input), `input with white space accepted: ${shown}`);
  assert.ok(!/[/:?#@\\%[\]]/.test(input), `input with a forbidden character accepted: ${shown}`);
  assert.deepEqual(normaliseDomain(domain), { ok: true, domain }, `not idempotent: ${shown}`);
}

function assertDomainResult(result: DomainResult, input: string): void {
  assert.equal(typeof result, 'object');
  if (result.ok) assertAcceptedDomain(result.domain, input);
  else assert.ok(typeof result.message === 'string' && result.message.length > 0, `refusal without a message for ${JSON.stringify(input)}`);
}

const labelChar = fc.constantFrom(
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'.split(''),
  // IDN letters, case-folding traps, compatibility forms and invisible characters.
  'ß', 'é', 'ü', 'ı', 'İ', 'ſ', 'ǅ', 'ｅ', 'ｘ', 'Ａ', '０', '１', '٣', 'ä', 'ω', 'я', '中', '文', '\u0301',
  '\u00ad', '\u200b', '\u200c', '\u200d', '\ufeff', '\u2060', '\ud800', '\udfff', '\u0000', '\u007f', '\u001f',
  '%', '@', ':', '[', ']', '/', '\\', '?', '#', ' ', '\t', '\n', '\u00a0', '\u3000', '!', '*', '+', '=', '~',
);
const label = fc.oneof(
  { weight: 3, arbitrary: fc.array(labelChar, { minLength: 0, maxLength: 12 }).map((chars) => chars.join('')) },
  { weight: 4, arbitrary: fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?$/) },
  { weight: 1, arbitrary: fc.constantFrom('xn--', 'xn--zca', 'xn--bcher-kva', 'xn--a', 'xn--9', 'XN--ZCA', 'www', 'mail', 'a'.repeat(63), 'a'.repeat(64)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0x7f', '0X7F', '0177', '0x1', '1e3', '4294967296', '2130706433') },
);
const tld = fc.oneof(
  label,
  fc.constantFrom(...PRIVATE_TLDS, ...PRIVATE_TLDS.map((name) => name.toUpperCase()), 'ｌｏｃａｌ', 'ｌｏｃａｌｈｏｓｔ', 'localhost\u200b', 'com', 'de', 'test', 'example', '123', '0x1', 'xn--p1ai', 'москва'),
);
const separator = fc.constantFrom('.', '.', '.', '.', '\u3002', '\uff0e', '\uff61', '..', '');
/** Domain-shaped strings: mostly near-valid names, so that the later rules are reached. */
const domainLike = fc
  .tuple(fc.array(fc.tuple(label, separator), { minLength: 0, maxLength: 5 }), tld, fc.constantFrom('', '', '', '', '', '', '.', '..', '\u3002', ' ', '\n'))
  .map(([parts, last, tail]) => `${parts.map(([part, sep]) => part + sep).join('')}${last}${tail}`);
const ipLike = fc.oneof(
  fc.constantFrom('127.0.0.1', '0x7f.1', '0x7f.0x0.0.1', '2130706433', '0177.0.0.1', '127.1', '::1', '[::1]', '[127.0.0.1]', '::ffff:127.0.0.1', '10.0.0.1', '169.254.169.254', '1.2.3.4.', '１２７．０．０．１', '０ｘ７ｆ．１', '0.0.0.0', 'fe80::1%eth0'),
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6(),
);
const domainInput = fc.oneof(
  { weight: 6, arbitrary: domainLike },
  { weight: 2, arbitrary: anyString(300) },
  { weight: 1, arbitrary: ipLike },
  { weight: 1, arbitrary: fc.domain() },
  { weight: 1, arbitrary: fc.string({ minLength: 240, maxLength: 300, unit: fc.constantFrom('a', '.', '-', 'ß') }) },
);
const localPart = fc.oneof(
  fc.stringMatching(/^[a-z0-9._%+-]{1,20}$/),
  anyString(70),
  fc.constantFrom('', '.a', 'a.', 'a..b', '"quoted"', 'a b', 'a\u0000b', 'a<b', '%EMAILADDRESS%', 'x'.repeat(64), 'x'.repeat(65)),
);
const emailInput = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(localPart, fc.constantFrom('@', '@', '@', '@@', '＠', ''), domainInput).map(([local, at, domain]) => `${local}${at}${domain}`) },
  { weight: 2, arbitrary: anyString(300) },
  { weight: 1, arbitrary: fc.emailAddress() },
);

describe('fuzz: the input parser (src/api/input.ts)', () => {
  it('normaliseDomain never throws and every accepted domain satisfies the documented rules', async (t) => {
    await runProperty(
      t,
      fc.property(domainInput, (input) => {
        assertDomainResult(normaliseDomain(input), input);
      }),
      4000,
    );
  });

  it('normaliseDomain refuses every IP literal, however written', async (t) => {
    await runProperty(
      t,
      fc.property(ipLike, fc.constantFrom('', '.'), (ip, tail) => {
        const result = normaliseDomain(ip + tail);
        assert.equal(result.ok, false, `${JSON.stringify(ip + tail)} accepted as ${JSON.stringify(result)}`);
      }),
      1000,
    );
  });

  it('parseEmail never throws and an accepted address is its local part @ an accepted domain', async (t) => {
    await runProperty(
      t,
      fc.property(emailInput, (input) => {
        const result = parseEmail(input);
        if (!result.ok) {
          assert.ok(result.message.length > 0);
          return;
        }
        const { email, localPart, domain } = result.subject;
        assert.ok(input.length <= 254, `over 254: ${JSON.stringify(input)}`);
        assert.ok(localPart !== null && localPart.length >= 1 && localPart.length <= 64, `local part: ${JSON.stringify(input)}`);
        assert.doesNotMatch(localPart, /[\u0000-\u001f\u007f\s<>()[\]\\,;:"@]/, `local part: ${JSON.stringify(input)}`);
        assert.ok(!localPart.startsWith('.') && !localPart.endsWith('.') && !localPart.includes('..'), `dots: ${JSON.stringify(input)}`);
        assert.equal(email, `${localPart}@${domain}`);
        assert.equal(input.split('@').length, 2, `not exactly one @: ${JSON.stringify(input)}`);
        assertAcceptedDomain(domain, input.slice(input.indexOf('@') + 1));
      }),
      3000,
    );
  });

  it('parseLookupInput accepts exactly one of email or domain and never throws', async (t) => {
    const query = fc.record({ email: emailInput, domain: domainInput }, { requiredKeys: [] });
    await runProperty(
      t,
      fc.property(query, (input) => {
        const result = parseLookupInput(input);
        const given = Number(input.email !== undefined) + Number(input.domain !== undefined);
        if (given !== 1) assert.equal(result.ok, false);
        if (!result.ok) return;
        const { subject } = result;
        if (input.domain !== undefined) {
          assert.equal(subject.email, null);
          assertAcceptedDomain(subject.domain, input.domain);
        } else {
          assert.equal(subject.email, `${subject.localPart}@${subject.domain}`);
        }
        // Rendering a username template with the subject never throws and keeps no placeholder of a known part.
        const rendered = renderUsername('%EMAILLOCALPART%@%EMAILDOMAIN%', subject);
        if (subject.email !== null) assert.ok(rendered.endsWith(`@${subject.domain}`));
      }),
      1500,
    );
  });
});
