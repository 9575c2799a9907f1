import fc from 'fast-check';
import { anyString } from './fuzz-options.js';

// Generators of hostile XML for the document readers: well-formed enough to reach the code that
// reads values (so not only the validator is exercised), hostile in every value and structure.

/** Escapes the five XML special characters. */
export function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[char] ?? char);
}

/** Entity and character references, known, unknown and out of range (mostly ones a validator lets through). */
export const entityRef = fc.oneof(
  {
    weight: 25,
    arbitrary: fc.constantFrom(
      '&amp;', '&lt;', '&gt;', '&quot;', '&apos;', '&#65;', '&#x41;', '&#0;', '&#1;', '&#x7f;', '&#10;', '&#13;', '&#x1F600;',
      '&#1114111;', '&#1114112;', '&#9999999;', '&#55296;', '&#xD800;', '&#xDFFF;', '&#46;', '&#x2e;',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('&#x;', '&#;', '&nbsp;', '&xxe;', '&a', '&') },
);

/** Text as it may appear between tags: escaped junk, raw junk, entities, CDATA, comments. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: anyString(40).map(escapeXml) },
  { weight: 1, arbitrary: anyString(20) },
  { weight: 2, arbitrary: entityRef },
  { weight: 1, arbitrary: anyString(30).map((value) => `<![CDATA[${value.replaceAll(']]>', '')}]]>`) },
  { weight: 1, arbitrary: anyString(20).map((value) => `<!--${escapeXml(value).replaceAll('--', '')}-->`) },
  { weight: 1, arbitrary: fc.constantFrom('<?pi data?>', '<![CDATA[]]>', '<!---->', ' ', '\n\t', '\u0000', '<', '>', ']]>') },
);

// The first `good` candidates (the valid ones) are picked three times as often as all the others together.
/** A value that is either one of the interesting candidates (possibly decorated) or hostile text. */
export function valueFrom(candidates: readonly string[], good = 0): fc.Arbitrary<string> {
  const candidate = good > 0 && good < candidates.length
    ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...candidates.slice(0, good)) }, { weight: 1, arbitrary: fc.constantFrom(...candidates.slice(good)) })
    : fc.constantFrom(...candidates);
  return fc.oneof(
    { weight: 14, arbitrary: candidate.map(escapeXml) },
    { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) },
    { weight: 1, arbitrary: candidate.map((value) => `<![CDATA[${value}]]>`) },
    { weight: 1, arbitrary: fc.tuple(candidate, fc.constantFrom(' ', '\n', '\t', '&#32;', '&#10;', '<!-- c -->', '&#0;')).map(([value, pad]) => `${pad}${escapeXml(value)}${pad}`) },
    { weight: 1, arbitrary: candidate.map((value) => value.replace(/./, (char) => `&#${char.codePointAt(0)};`)) },
    { weight: 1, arbitrary: candidate.map((value) => value.toUpperCase()) },
    { weight: 1, arbitrary: hostileText },
  );
}

/** Ports as documents write them, right and wrong. */
export const PORT_VALUES = [
  '993', '143', '995', '110', '465', '587', '25', '1', '65535', '2525', '0', '65536', '-1', '99999', '123456', '1e3', '0x3e1', '0993', '00993',
  '993.0', '9 93', '+993', '', 'NaN', 'Infinity', '９９３', '٩٩٣', '993\u0000', '8443',
];
/** Host names: valid, upper-case, trailing dot, placeholders, IP literals, local names, IDN, overlong. */
export const HOST_VALUES = [
  'imap.example.com', 'smtp.example.com', 'IMAP.Example.COM', 'mail.example.com.', '%EMAILDOMAIN%', 'imap.%EMAILDOMAIN%', 'mail.%emaildomain%',
  '127.0.0.1', '10.0.0.1', '[::1]', '::1', 'localhost', 'mail', '0x7f.1', 'imap.example.com:993', 'user@imap.example.com', 'imap..example.com',
  '-imap.example.com', 'imap-.example.com', '_imap._tcp.example.com', 'bücher.de', 'xn--bcher-kva.de', 'imap.example.123', 'a'.repeat(64) + '.com',
  `${'a.'.repeat(130)}com`, 'imap example.com', 'imap.example.com\n', 'imap.example.com/x', '',
];
/** Usernames: placeholders, plain, empty, control characters, overlong. */
export const USERNAME_VALUES = [
  '%EMAILADDRESS%', '%EMAILLOCALPART%', '%EMAILDOMAIN%', 'someone', 'someone@example.com', '', ' ', '&#1;', '&#x7f;', 'a&#10;b', 'a\u0001b',
  'x'.repeat(320), 'x'.repeat(321), '%EMAILADDRESS%\t',
];
/** Names that are properties of every plain object: a lookup table keyed by document text must not find them. */
export const PROTOTYPE_NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf', '__defineGetter__', 'toLocaleString'];

/** An element with the given name, attributes and content, sometimes self-closing when empty, sometimes namespaced. */
export function element(name: string, content: string, attributes = ''): fc.Arbitrary<string> {
  return fc.constantFrom('', '', '', 'ns:').map((prefix) => {
    const tag = `${prefix}${name}`;
    const attrs = `${prefix ? ` xmlns:ns="urn:x"` : ''}${attributes}`;
    return content === '' && prefix === '' ? `<${tag}${attrs}/>` : `<${tag}${attrs}>${content}</${tag}>`;
  });
}

/** Junk elements of arbitrary names, attributes and nesting (bounded depth). */
export const junkElement: fc.Arbitrary<string> = fc.letrec<{ node: string; element: string }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', maxDepth: 5 }, fc.oneof(anyString(20).map(escapeXml), entityRef), tie('element')),
  element: fc
    .tuple(
      fc.oneof(fc.stringMatching(/^[A-Za-z_][\w.-]{0,10}$/), fc.constantFrom('hostname', 'port', 'username', 'Protocol', 'Server', 'Port', 'Account', 'Type', 'x:y')),
      fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z_][\w-]{0,8}$/), anyString(20).map(escapeXml)), { maxLength: 3 }),
      fc.array(tie('node'), { maxLength: 3 }),
    )
    .map(([name, attributes, children]) => {
      const unique = [...new Map(attributes).entries()].map(([key, value]) => ` ${key}="${value}"`).join('');
      return `<${name}${unique}>${children.join('')}</${name}>`;
    }),
})).element;

/** A list of generated parts, minLength–maxLength of them, now and then with junk elements among them. */
export function someOf(parts: fc.Arbitrary<string>, maxLength = 3, minLength = 0): fc.Arbitrary<string> {
  return fc
    .array(fc.oneof({ weight: 20, arbitrary: parts }, { weight: 1, arbitrary: junkElement }), { minLength, maxLength })
    .map((items) => items.join(''));
}

/** How many of HOST_VALUES, from the start, a reader may accept (given a domain for %EMAILDOMAIN%). */
export const GOOD_HOSTS = 7;
/** How many of PORT_VALUES, from the start, are valid ports. */
export const GOOD_PORTS = 10;
