import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Authentication, Protocol } from '../api/schemas.js';
import { isPublicHostName } from '../api/input.js';
import { capPerProtocol, DOCUMENT_MAX_BYTES, droppedServersNote } from './document-limits.js';

// PACC: draft-ietf-mailmaint-pacc-02, "Automatic Configuration of Email, Calendar, and Contact
// Server Settings". Pure functions only: reading the configuration document, reading the TXT
// record that vouches for it, and checking the one against the other. No I/O here.
//
// Facts of -02 this module relies on:
// - The document is JSON. `protocols` maps a protocol name to one service: the text protocols
//   (`imap`, `pop3`, `smtp`) carry only a `host`; the HTTP-based ones (`jmap`, `caldav`,
//   `carddav`, `webdav`) carry an https `url`. There is no port and no TLS switch: the text
//   protocols are always implicit TLS on their registered ports (993, 995, 465).
// - `authentication` says whether passwords work (`password`, a boolean) and, under
//   `oauth-public`, names the OAuth `issuer` of draft-ietf-mailmaint-oauth-public.
// - `info` carries the provider's name and help links (informational only).
// - The TXT record `_ua-auto-config.<domain>` holds `v=UAAC1; a=sha256; d=<base64>`, where d is
//   the SHA-256 of the document's body exactly as received (the bytes after HTTP decoding,
//   before any parsing). A domain may publish several such records (e.g. during a change).
// -03 renames `smtp` to `submit`; both names are read here, since they mean the same service.

/**
 * Largest document read (the PACC source asks the HTTP client for the same cap). A -02 document is
 * well under 1 KiB; at main's 256 KiB a document of deep nesting took about 40 ms of CPU to read.
 */
export const PACC_MAX_BYTES = DOCUMENT_MAX_BYTES;
/** Services read per protocol at most (-02 has one; a list is tolerated, but bounded). */
export const PACC_MAX_PER_PROTOCOL = 10;
/** TXT records examined at most at `_ua-auto-config.<domain>`. */
export const PACC_MAX_TXT_RECORDS = 20;

const MAX_URL = 2048;
const MAX_TXT = 1024;
const MAX_NAME = 120;

/** The port each mail protocol uses under PACC: implicit TLS only (RFC 8314), never STARTTLS. */
export const PACC_PORTS: Readonly<Record<Protocol, number>> = { imap: 993, pop3: 995, smtp: 465 };

/** One mail server the document names, with what the product shows of it. */
export interface PaccServer {
  protocol: Protocol;
  host: string;
  port: number;
  security: 'tls';
  /** PACC: the user's email address is the username on every service. */
  username: '%EMAILADDRESS%';
  authentication: Authentication[];
}

/** What a verified document yields. */
export interface PaccData {
  servers: PaccServer[];
  /** https URLs of JMAP session resources (RFC 8620). */
  jmap: string[];
  /** The `oauth-public` issuer, when one is given and valid (a later issue shows it on servers). */
  oauthIssuer?: string;
  /** True when the document names OAuth (`oauth-public`), whether or not its issuer was usable. */
  oauth: boolean;
  /** The `password` flag as given; undefined when the document does not say. */
  password?: boolean;
  providerName?: string;
}

/** Stable codes of a document that cannot be read. */
export type PaccParseError = 'pacc_too_large' | 'pacc_bad_encoding' | 'pacc_bad_json' | 'pacc_invalid';

/** Outcome of reading a document: what it yields and what was left out, or why it is unusable. */
export type PaccParseResult =
  | { ok: true; data: PaccData; dropped: string[]; ignored: string[] }
  | { ok: false; error: PaccParseError; message: string };

const entry = z.unknown().optional();
/** Only the names this module reads; every other member is ignored (forward compatibility). */
const documentSchema = z.object({
  protocols: z.object({
    imap: entry,
    pop3: entry,
    smtp: entry,
    submit: entry,
    jmap: entry,
    caldav: entry,
    carddav: entry,
    webdav: entry,
    managesieve: entry,
  }),
  authentication: entry,
  info: entry,
});
const hostEntrySchema = z.object({ host: z.string().max(260), port: z.unknown().optional() });
const urlEntrySchema = z.object({ url: z.string().max(MAX_URL) });
const passwordSchema = z.object({ password: z.boolean() });
const oauthSchema = z.object({ 'oauth-public': z.object({ issuer: z.string().max(MAX_URL) }) });
const providerNameSchema = z.object({ provider: z.object({ name: z.string() }) });

/** A short, printable rendering of an untrusted value for `dropped` notes. */
function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/** Security: an https URL on a proper host name (no IP literal, no credentials), or undefined. */
function httpsUrl(text: string): string | undefined {
  if (text.length > MAX_URL) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.username || url.password) return undefined;
  return isPublicHostName(url.hostname) ? url.href : undefined;
}

/** One service or a bounded list of them (-02 has one; a list is read up to the cap). */
function entries(value: unknown, name: string, dropped: string[]): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [value];
  if (value.length > PACC_MAX_PER_PROTOCOL) dropped.push(`${name}: ${value.length - PACC_MAX_PER_PROTOCOL} entries past the first ${PACC_MAX_PER_PROTOCOL}`);
  return value.slice(0, PACC_MAX_PER_PROTOCOL);
}

/** The host of one text-protocol service, or why it was dropped. */
function readHost(value: unknown, protocol: Protocol): string | { dropped: string } {
  const parsed = hostEntrySchema.safeParse(value);
  if (!parsed.success) return { dropped: `${protocol}: not an object with a host name` };
  const host = parsed.data.host.toLowerCase().replace(/\.$/, '');
  if (!isPublicHostName(host)) return { dropped: `${protocol}: invalid host ${shown(parsed.data.host)}` };
  // -02 defines no port: the registered implicit-TLS port is the only one. A document naming
  // another port describes a server this draft cannot express; it is dropped, not guessed at.
  const port = parsed.data.port;
  if (port !== undefined && port !== PACC_PORTS[protocol]) {
    return { dropped: `${protocol} ${host}: port ${shown(String(port))} is not the PACC port ${PACC_PORTS[protocol]}` };
  }
  return host;
}

type PaccDocument = z.infer<typeof documentSchema>;
type PaccRefusal = Extract<PaccParseResult, { ok: false }>;

/** The bytes as a PACC document: bounded, UTF-8, JSON, with a `protocols` object; or why not. */
function decodeDocument(bytes: Uint8Array): { ok: true; document: PaccDocument } | PaccRefusal {
  if (bytes.length > PACC_MAX_BYTES) return { ok: false, error: 'pacc_too_large', message: `document of ${bytes.length} bytes exceeds ${PACC_MAX_BYTES}` };
  let text: string;
  try {
    // JSON is UTF-8 (RFC 8259 §8.1); a leading byte order mark may be ignored, and is.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, error: 'pacc_bad_encoding', message: 'the document is not valid UTF-8' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: 'pacc_bad_json', message: `not JSON: ${String((error as Error).message).slice(0, 80)}` };
  }
  const document = documentSchema.safeParse(json);
  if (!document.success) return { ok: false, error: 'pacc_invalid', message: 'not a PACC document (no "protocols" object)' };
  return { ok: true, document: document.data };
}

/** How the document lets users log in: the methods every server gets, and the flags as given. */
interface PaccLogin {
  methods: Authentication[];
  passwordFlag: boolean | undefined;
  oauthDeclared: boolean;
  oauthIssuer: string | undefined;
}

/** Reads the `authentication` member: `password` and `oauth-public` (with a valid https issuer). */
function readLogin(authentication: unknown, dropped: string[]): PaccLogin {
  const password = passwordSchema.safeParse(authentication);
  const oauth = oauthSchema.safeParse(authentication);
  const oauthDeclared = typeof authentication === 'object' && authentication !== null && Object.hasOwn(authentication, 'oauth-public');
  let oauthIssuer: string | undefined;
  if (oauth.success) {
    oauthIssuer = httpsUrl(oauth.data['oauth-public'].issuer);
    if (!oauthIssuer) dropped.push(`oauth-public: invalid issuer ${shown(oauth.data['oauth-public'].issuer)}`);
  } else if (oauthDeclared) {
    dropped.push('oauth-public: no issuer string');
  }
  const methods: Authentication[] = [];
  if (password.success && password.data.password) methods.push('password-cleartext');
  if (oauthDeclared) methods.push('oauth2');
  const passwordFlag = password.success ? password.data.password : undefined;
  if (methods.length === 0 && passwordFlag === undefined) {
    // The document says nothing about logging in: a password, as every other format assumes.
    methods.push('password-cleartext');
  }
  return { methods, passwordFlag, oauthDeclared, oauthIssuer };
}

/** The IMAP, POP3 and SMTP (or `submit`) services, deduplicated and capped per protocol. */
function readMailServers(protocols: PaccDocument['protocols'], methods: readonly Authentication[], dropped: string[]): PaccServer[] {
  const servers: PaccServer[] = [];
  const mail: [Protocol, unknown][] = [
    ['imap', protocols.imap],
    ['pop3', protocols.pop3],
    ['smtp', protocols.smtp],
    ['smtp', protocols.submit],
  ];
  for (const [protocol, value] of mail) {
    for (const item of entries(value, protocol, dropped)) {
      const host = readHost(item, protocol);
      if (typeof host !== 'string') {
        dropped.push(host.dropped);
        continue;
      }
      if (servers.some((server) => server.protocol === protocol && server.host === host)) continue;
      if (methods.length === 0) {
        dropped.push(`${protocol} ${host}: neither passwords nor OAuth are allowed`);
        continue;
      }
      servers.push({ protocol, host, port: PACC_PORTS[protocol], security: 'tls', username: '%EMAILADDRESS%', authentication: [...methods] });
    }
  }
  // `smtp` and `submit` may each list PACC_MAX_PER_PROTOCOL: the answer keeps that many per protocol.
  const kept = capPerProtocol(servers, PACC_MAX_PER_PROTOCOL);
  const cut = droppedServersNote(kept.dropped, PACC_MAX_PER_PROTOCOL);
  if (cut) dropped.push(cut);
  return kept.kept;
}

/** The https URLs of the `jmap` services, without repeats. */
function readJmap(value: unknown, dropped: string[]): string[] {
  const jmap: string[] = [];
  for (const item of entries(value, 'jmap', dropped)) {
    const parsed = urlEntrySchema.safeParse(item);
    const url = parsed.success ? httpsUrl(parsed.data.url) : undefined;
    if (!url) {
      dropped.push(`jmap: ${parsed.success ? `invalid URL ${shown(parsed.data.url)}` : 'not an object with a url'}`);
      continue;
    }
    if (!jmap.includes(url)) jmap.push(url);
  }
  return jmap;
}

/** The provider's name from `info`, without control characters and capped. */
function readProviderName(info: unknown): string | undefined {
  const provider = providerNameSchema.safeParse(info);
  return provider.success ? provider.data.provider.name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, MAX_NAME) : undefined;
}

/**
 * Reads a PACC configuration document (draft-ietf-mailmaint-pacc-02) from its exact bytes.
 * Security: the bytes come from a host named by the looked-up domain; call this only after
 * `verifyPaccDigest` accepted them. Sizes, counts and string lengths are bounded; an invalid
 * service is dropped (and reported) rather than failing the document; unknown members are ignored.
 */
export function parsePaccJson(bytes: Uint8Array): PaccParseResult {
  const decoded = decodeDocument(bytes);
  if (!decoded.ok) return decoded;
  const { protocols, authentication, info } = decoded.document;
  const dropped: string[] = [];
  const login = readLogin(authentication, dropped);
  const servers = readMailServers(protocols, login.methods, dropped);
  const jmap = readJmap(protocols.jmap, dropped);
  const ignored = (['caldav', 'carddav', 'webdav', 'managesieve'] as const).filter((name) => protocols[name] !== undefined);
  const providerName = readProviderName(info);
  return {
    ok: true,
    data: {
      servers,
      jmap,
      oauth: login.oauthDeclared,
      ...(login.oauthIssuer ? { oauthIssuer: login.oauthIssuer } : {}),
      ...(login.passwordFlag !== undefined ? { password: login.passwordFlag } : {}),
      ...(providerName ? { providerName } : {}),
    },
    dropped,
    ignored,
  };
}

/** A TXT value at `_ua-auto-config.<domain>`, read. */
export type PaccTxtRecord =
  | { ok: true; algorithm: 'sha256'; digest: Buffer }
  /** `other`: not a UAAC1 record (another version, or unrelated text), so it is skipped. */
  | { ok: false; reason: 'other' | 'malformed' | 'unsupported_algorithm'; message: string };

/**
 * Reads one TXT value: `;`-separated `tag=value` pairs, `v=UAAC1` first, then `a` (the digest
 * algorithm; only `sha256` is defined) and `d` (the base64 digest). Unknown tags are ignored;
 * white space around tags, and inside the base64 (long records are split into strings), is not significant.
 */
export function parsePaccTxt(value: string): PaccTxtRecord {
  if (value.length > MAX_TXT) return { ok: false, reason: 'malformed', message: `record longer than ${MAX_TXT} characters` };
  const tags = value.split(';').map((part) => part.trim()).filter((part) => part.length > 0);
  const pairs: [string, string][] = [];
  for (const tag of tags) {
    const match = /^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*)$/s.exec(tag);
    if (!match) {
      if (pairs.length === 0) return { ok: false, reason: 'other', message: 'not a UAAC1 record' };
      return { ok: false, reason: 'malformed', message: `bad tag ${shown(tag)}` };
    }
    pairs.push([match[1]!.toLowerCase(), match[2]!.trim()]);
  }
  const first = pairs[0];
  if (!first || first[0] !== 'v' || first[1].toUpperCase() !== 'UAAC1') return { ok: false, reason: 'other', message: 'not a UAAC1 record' };
  const tagMap = new Map<string, string>();
  for (const [name, tagValue] of pairs) {
    if (tagMap.has(name)) return { ok: false, reason: 'malformed', message: `tag ${name} appears twice` };
    tagMap.set(name, tagValue);
  }
  const algorithm = tagMap.get('a');
  const digestText = tagMap.get('d')?.replace(/\s+/g, '');
  if (algorithm === undefined || digestText === undefined) return { ok: false, reason: 'malformed', message: 'a UAAC1 record needs both a= and d=' };
  if (algorithm.toLowerCase() !== 'sha256') return { ok: false, reason: 'unsupported_algorithm', message: `digest algorithm ${shown(algorithm)} is not supported` };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(digestText) || digestText.length % 4 !== 0) {
    return { ok: false, reason: 'malformed', message: 'd= is not base64' };
  }
  const digest = Buffer.from(digestText, 'base64');
  if (digest.length !== 32) return { ok: false, reason: 'malformed', message: `d= holds ${digest.length} bytes, not a SHA-256 digest` };
  return { ok: true, algorithm: 'sha256', digest };
}

/** The SHA-256 digest PACC publishes for a document: over its exact bytes. */
export function paccDigest(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** The TXT value a domain publishes for a document (used by tests and for operators' help). */
export function paccTxtValue(bytes: Uint8Array): string {
  return `v=UAAC1; a=sha256; d=${paccDigest(bytes).toString('base64')}`;
}

/** Stable codes of a document the TXT record does not vouch for. */
export type PaccDigestError = 'pacc_digest_missing' | 'pacc_bad_txt' | 'pacc_digest_mismatch';

/** Outcome of checking a document against the TXT values of `_ua-auto-config.<domain>`. */
export type PaccVerification = { ok: true } | { ok: false; error: PaccDigestError; message: string };

/**
 * Checks the document's exact bytes against the TXT values: it is vouched for when any
 * well-formed UAAC1 record carries its SHA-256 digest. Otherwise the most telling failure is
 * named: a digest that differs (`pacc_digest_mismatch`), else a UAAC1 record that cannot be read
 * or uses an unknown algorithm (`pacc_bad_txt`), else no UAAC1 record at all (`pacc_digest_missing`).
 */
export function verifyPaccDigest(bytes: Uint8Array, txtValues: readonly string[]): PaccVerification {
  const actual = paccDigest(bytes);
  const records = txtValues.slice(0, PACC_MAX_TXT_RECORDS).map(parsePaccTxt);
  let digests = 0;
  const problems: string[] = [];
  for (const record of records) {
    if (record.ok) {
      digests += 1;
      if (timingSafeEqual(record.digest, actual)) return { ok: true };
    } else if (record.reason !== 'other') {
      problems.push(record.message);
    }
  }
  if (digests > 0) {
    return { ok: false, error: 'pacc_digest_mismatch', message: `the document's SHA-256 matches none of the ${digests} published digest(s)` };
  }
  if (problems.length > 0) return { ok: false, error: 'pacc_bad_txt', message: `unusable UAAC1 record: ${problems.slice(0, 3).join('; ')}` };
  return { ok: false, error: 'pacc_digest_missing', message: 'no UAAC1 record vouches for the document' };
}
