import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';
import { LRUCache } from 'lru-cache';

/** A validated lookup subject: the ASCII domain and, when given, the address. */
export interface LookupSubject {
  domain: string;
  email: string | null;
  localPart: string | null;
}

/** Why an input was refused; the message is safe to show to the caller. */
export type InputResult = { ok: true; subject: LookupSubject } | { ok: false; message: string };

const PRIVATE_TLDS = new Set(['localhost', 'local', 'internal', 'localdomain', 'invalid', 'onion', 'home', 'lan', 'arpa']);
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Characters any IPv4 (incl. hex/octal/decimal forms) or IPv6 notation is made of. */
const IP_LITERAL_CHARS = /^[0-9a-fx.:]+$/i;

/**
 * True for anything ipaddr.js would read as an IP address (0x7f.1, 2130706433, ::1 …). The cheap
 * character test first keeps ipaddr.js's throwing parser off the hot path for ordinary names.
 */
function looksLikeIpLiteral(value: string): boolean {
  return IP_LITERAL_CHARS.test(value) && ipaddr.isValid(value);
}

/**
 * Normalises a domain to lower-case ASCII (punycode for IDNs) and checks it is a public-looking
 * DNS name. Security: the result is later resolved and fetched, so IP literals, `localhost` and
 * single-label names are refused here, before anything touches the network.
 */
export function normaliseDomain(input: string): DomainResult {
  let result = recentDomains.get(input);
  if (result === undefined) {
    result = normaliseDomainUncached(input);
    recentDomains.set(input, result);
  }
  return result;
}

/** Verdict on one domain: its ASCII form, or why it was refused. */
export type DomainResult = { ok: true; domain: string } | { ok: false; message: string };

/**
 * Recent verdicts: the same few hundred domains make most lookups, and IDN conversion plus the
 * checks cost more than a map look-up on the hot path. Bounded; verdicts never change.
 */
const recentDomains = new LRUCache<string, DomainResult>({ max: 10_000 });

function normaliseDomainUncached(input: string): DomainResult {
  let raw = input.trim();
  if (raw !== input || raw.length === 0) return { ok: false, message: 'domain must not be empty or contain spaces' };
  if (/\s/.test(raw)) return { ok: false, message: 'domain must not contain spaces' };
  if (raw.startsWith('[') || looksLikeIpLiteral(raw)) {
    return { ok: false, message: 'IP address literals are not accepted; give a domain name' };
  }
  if (raw.endsWith('.')) raw = raw.slice(0, -1);
  if (/[/:?#@\\%]/.test(raw)) return { ok: false, message: 'domain contains characters that are not allowed' };
  const ascii = domainToASCII(raw.toLowerCase());
  if (!ascii) return { ok: false, message: 'domain is not a valid (internationalised) domain name' };
  const problem = hostNameProblem(ascii);
  if (problem) return { ok: false, message: problem };
  return { ok: true, domain: ascii };
}

/**
 * Why an ASCII, lower-case DNS name is not a public host name, or null when it is: at most 253
 * characters, at least two labels of letters, digits and inner hyphens (≤ 63 each), a top-level
 * label that is not all digits (no IP literal), and no name that only means something inside one
 * network (`localhost`, `.localhost`, `.local`, `.internal`, `.home.arpa` … RFC 6761, 6762, 8375).
 */
export function hostNameProblem(ascii: string): string | null {
  if (ascii.length === 0) return 'domain must not be empty';
  if (ascii.length > 253) return 'domain is longer than 253 characters';
  const labels = ascii.split('.');
  if (labels.length < 2) return 'single-label names such as localhost are not accepted';
  for (const label of labels) {
    if (label.length > 63) return 'a domain label is longer than 63 characters';
    if (!LABEL.test(label)) return 'domain labels may only hold letters, digits and inner hyphens';
  }
  const tld = labels[labels.length - 1] ?? '';
  if (/^\d+$/.test(tld)) return 'IP address literals are not accepted; give a domain name';
  // `.test` and `.example` stay accepted: they are what the end-to-end tests resolve via dnsmasq.
  if (PRIVATE_TLDS.has(tld)) return `names under .${tld} are not public mail domains`;
  return null;
}

/**
 * The one host-name rule for names read from untrusted documents and records (autoconfig,
 * Autodiscover, PACC, SRV targets, MX exchanges, JMAP URLs): the rule input domains follow, applied
 * to a name that must already be lower-case ASCII (a document gives A-labels; nothing is converted).
 * Security: such names are resolved, fetched or shown as settings, so none may point inside a network.
 */
export function isPublicHostName(name: string): boolean {
  return hostNameProblem(name) === null;
}

/** Splits and validates an email address (RFC 5321 sizes: local part ≤ 64, whole ≤ 254). */
export function parseEmail(input: string): InputResult {
  if (input.length > 254) return { ok: false, message: 'email address is longer than 254 characters' };
  if (/\s/.test(input)) return { ok: false, message: 'email address must not contain spaces' };
  const at = input.lastIndexOf('@');
  if (at < 0) return { ok: false, message: 'email address needs an @' };
  if (input.indexOf('@') !== at) return { ok: false, message: 'email address has more than one @' };
  const localPart = input.slice(0, at);
  if (localPart.length === 0) return { ok: false, message: 'email address has an empty local part' };
  if (localPart.length > 64) return { ok: false, message: 'local part is longer than 64 characters' };
  if (/[\u0000-\u001f\u007f<>()[\]\\,;:"]/.test(localPart) || localPart.startsWith('.') || localPart.endsWith('.') || localPart.includes('..')) {
    return { ok: false, message: 'local part contains characters that are not allowed' };
  }
  const domain = normaliseDomain(input.slice(at + 1));
  if (!domain.ok) return domain;
  return { ok: true, subject: { domain: domain.domain, email: `${localPart}@${domain.domain}`, localPart } };
}

/** Validates the lookup query: exactly one of email or domain. */
export function parseLookupInput(query: { email?: string | undefined; domain?: string | undefined }): InputResult {
  const hasEmail = query.email !== undefined;
  const hasDomain = query.domain !== undefined;
  if (hasEmail === hasDomain) return { ok: false, message: 'give exactly one of the query parameters email or domain' };
  if (hasEmail) return parseEmail(query.email ?? '');
  const domain = normaliseDomain(query.domain ?? '');
  if (!domain.ok) return domain;
  return { ok: true, subject: { domain: domain.domain, email: null, localPart: null } };
}

/** Fills %EMAILADDRESS%, %EMAILLOCALPART% and %EMAILDOMAIN%; leaves the template when no address is known. */
export function renderUsername(template: string, subject: LookupSubject): string {
  if (subject.email === null || subject.localPart === null) return template;
  return template
    .replaceAll('%EMAILADDRESS%', subject.email)
    .replaceAll('%EMAILLOCALPART%', subject.localPart)
    .replaceAll('%EMAILDOMAIN%', subject.domain);
}
