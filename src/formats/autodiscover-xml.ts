import { ownValue } from './own-value.js';
import type { Authentication, Protocol, Security } from '../api/schemas.js';
import { isPublicHostName } from '../api/input.js';
import { boundedNotes, capPerProtocol, droppedServersNote } from './document-limits.js';
import type { DocumentServer } from './candidate.js';
import { decodeBasicEntities, hardenedXmlParser, parseHardenedXml, xmlNodes, type XmlNode } from './hardened-xml.js';

/** The request namespace of Outlook POX Autodiscover (MS-OXDSCLI §2.2.3). */
export const AUTODISCOVER_REQUEST_SCHEMA = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006';
/** The response schema asked for: the "2006a" Outlook schema, which carries IMAP/POP3/SMTP sections. */
export const AUTODISCOVER_RESPONSE_SCHEMA = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

/** One IMAP, POP3 or SMTP section of an Autodiscover answer; `username` is a template. */
export type AutodiscoverServer = DocumentServer;

/** What an Autodiscover answer says: settings, or where to ask instead, or why it was refused. */
export type AutodiscoverParseResult =
  | {
      ok: true;
      action: 'settings';
      servers: AutodiscoverServer[];
      /** Why a Protocol section was not used (no addresses, no per-user data). */
      dropped: string[];
      /** Facts worth reporting (login name per user, Exchange only …). */
      notes: string[];
      /** The first https EWS endpoint offered, if any. */
      ewsUrl: string | undefined;
      /** True when Exchange protocols (EXCH, EXPR, EXHTTP, WEB, mapiHttp) were offered. */
      exchange: boolean;
    }
  | { ok: true; action: 'redirectAddr'; address: string }
  | { ok: true; action: 'redirectUrl'; url: string }
  | {
      ok: false;
      error: 'doctype_refused' | 'too_complex' | 'malformed_xml' | 'not_autodiscover' | 'autodiscover_error' | 'unsupported_account' | 'invalid_redirect';
      message: string;
    };

/** Options of the reader. */
export interface AutodiscoverParseOptions {
  /** The address the request carried: a LoginName equal to it (or its local part) becomes a template. */
  address: string;
}

/** Longest text value read from the document; longer values are treated as absent or invalid. */
const MAX_VALUE = 2048;
/** Most Protocol sections read from one answer (a real one has a handful). */
const MAX_PROTOCOLS = 32;

const EXCHANGE_TYPES = new Set(['exch', 'expr', 'exhttp', 'web', 'mapihttp']);
const MAIL_TYPES: Record<string, Protocol> = { imap: 'imap', pop3: 'pop3', smtp: 'smtp' };

/** A mailbox as this reader accepts it in RedirectAddr: one `@`, a plain host name as domain. */
const ADDRESS = /^[^\s@<>"\\,;:()[\]]{1,64}@[^\s@]{1,253}$/;

// Every element is an array, so a repeated element never turns a value into a list by surprise:
// the reader picks the first supported value itself.
const parser = hardenedXmlParser((_name, _path, _isLeaf, isAttribute) => !isAttribute);

type Node = XmlNode;

/** Escapes text for an XML element (the request carries an address chosen by the caller). */
export function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[char] ?? char);
}

/** The POX request body for one address (MS-OXDSCLI §2.2.3; Outlook 2006 request, 2006a response). */
export function buildAutodiscoverRequest(address: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="${AUTODISCOVER_REQUEST_SCHEMA}">
  <Request>
    <EMailAddress>${escapeXml(address)}</EMailAddress>
    <AcceptableResponseSchema>${AUTODISCOVER_RESPONSE_SCHEMA}</AcceptableResponseSchema>
  </Request>
</Autodiscover>
`;
}

const nodes = xmlNodes;

/** Text of one value (string leaf or element with attributes); capped values count as absent. */
function textOf(value: unknown): string | undefined {
  let raw: unknown = value;
  if (raw && typeof raw === 'object') raw = (raw as Node)['#text'] ?? '';
  if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
  const text = decodeBasicEntities(String(raw)).trim();
  return text.length > MAX_VALUE ? undefined : text;
}

/** Every text value of a (possibly repeated) child element, in document order. */
function texts(node: Node, name: string): string[] {
  const value = node[name];
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.flatMap((item) => {
    const text = textOf(item);
    return text === undefined ? [] : [text];
  });
}

/** The first value of a repeated child that `accept` maps to something; `undefined` when none is supported. */
function firstSupported<T>(node: Node, name: string, accept: (text: string) => T | undefined): { present: boolean; value: T | undefined } {
  const values = texts(node, name);
  for (const text of values) {
    const mapped = accept(text);
    if (mapped !== undefined) return { present: true, value: mapped };
  }
  return { present: values.length > 0 || node[name] !== undefined, value: undefined };
}

const onOff = (text: string): boolean | undefined => {
  const lower = text.toLowerCase();
  return lower === 'on' ? true : lower === 'off' ? false : undefined;
};

type Encryption = 'none' | 'ssl' | 'tls' | 'auto';
const ENCRYPTION: Record<string, Encryption> = { none: 'none', ssl: 'ssl', tls: 'tls', auto: 'auto' };

/** Ports whose mode RFC 8314 §3 and RFC 6409 fix: cleartext start (STARTTLS) or implicit TLS. */
const STARTTLS_PORTS = new Set([25, 110, 143, 587]);
const IMPLICIT_TLS_PORTS = new Set([465, 993, 995]);

/**
 * The security of an encrypted connection. The well-known port decides, as Thunderbird does
 * (SSL "on" does not say whether TLS is implicit or negotiated). On other ports Outlook's own
 * vocabulary is used when it is explicit (Encryption "SSL" = implicit TLS, "TLS" = STARTTLS, as in
 * Outlook's account dialog); "on"/"Auto" there means implicit TLS, Thunderbird's assumption.
 */
function encryptedSecurity(port: number, encryption: Encryption | undefined): Security {
  if (STARTTLS_PORTS.has(port)) return 'starttls';
  if (IMPLICIT_TLS_PORTS.has(port)) return 'tls';
  return encryption === 'tls' ? 'starttls' : 'tls';
}

/** Turns a LoginName into a template: answers are cached per domain, so no per-user name may stay. */
function loginTemplate(loginName: string | undefined, address: string): { username: string; perUser: boolean } {
  if (loginName === undefined || loginName === '') return { username: '%EMAILADDRESS%', perUser: false };
  const lower = loginName.toLowerCase();
  const at = address.lastIndexOf('@');
  if (lower === address.toLowerCase()) return { username: '%EMAILADDRESS%', perUser: false };
  if (at > 0 && lower === address.slice(0, at).toLowerCase()) return { username: '%EMAILLOCALPART%', perUser: false };
  return { username: '%EMAILADDRESS%', perUser: true };
}

/** One IMAP/POP3/SMTP Protocol section, or why it was dropped. Security: every value is untrusted. */
function readProtocol(node: Node, protocol: Protocol, address: string): { server: AutodiscoverServer; perUser: boolean } | string {
  const label = protocol.toUpperCase();
  const host = firstSupported(node, 'Server', (text) => {
    const candidate = text.toLowerCase().replace(/\.$/, '');
    return isPublicHostName(candidate) ? candidate : undefined;
  }).value;
  if (!host) return `${label} section has no valid Server host name`;
  const port = firstSupported(node, 'Port', (text) => {
    const number = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    return number >= 1 && number <= 65535 ? number : undefined;
  }).value;
  if (port === undefined) return `${label} ${host} has no valid Port`;

  const ssl = firstSupported(node, 'SSL', onOff);
  if (ssl.present && ssl.value === undefined) return `${label} ${host}:${port} has an unknown SSL value`;
  const encryption = firstSupported(node, 'Encryption', (text) => ownValue(ENCRYPTION, text.toLowerCase()));
  if (encryption.present && encryption.value === undefined) return `${label} ${host}:${port} has an unknown Encryption value`;
  // MS-OXDSCLI: Encryption, when present, overrides SSL; SSL defaults to "on" when absent.
  const encrypted = encryption.value !== undefined ? encryption.value !== 'none' : ssl.value !== false;
  let security: Security;
  if (encrypted) {
    security = encryptedSecurity(port, encryption.value);
  } else {
    // Cleartext on an implicit-TLS port cannot be right (RFC 8314 §3): drop rather than guess.
    if (IMPLICIT_TLS_PORTS.has(port)) return `${label} ${host}:${port} says no encryption on an implicit-TLS port`;
    security = 'none';
  }

  const spa = firstSupported(node, 'SPA', onOff);
  if (spa.present && spa.value === undefined) return `${label} ${host}:${port} has an unknown SPA value`;
  const authRequired = firstSupported(node, 'AuthRequired', onOff);
  if (authRequired.present && authRequired.value === undefined) return `${label} ${host}:${port} has an unknown AuthRequired value`;
  // SPA is Microsoft's Secure Password Authentication, i.e. NTLM. Only an explicit "on" counts:
  // the documented default ("on" when absent) would turn every plain-password server into NTLM,
  // and Thunderbird likewise reads an absent SPA as a cleartext password.
  let authentication: Authentication[] = spa.value === true ? ['ntlm'] : ['password-cleartext'];
  // An SMTP server that needs no authentication (AuthRequired "off") relays by client address.
  if (protocol === 'smtp' && authRequired.value === false) authentication = ['none'];

  const loginName = texts(node, 'LoginName').find((text) => text.length > 0 && text.length <= 320 && !/[\u0000-\u001f\u007f]/.test(text));
  const { username, perUser } = loginTemplate(loginName, address);
  return { server: { protocol, host, port, security, username, authentication }, perUser };
}

/** The type of a Protocol section: the Type element (2006a) or the Type attribute (mapiHttp sections). */
function protocolType(node: Node): string {
  const element = texts(node, 'Type')[0];
  const attribute = typeof node['@Type'] === 'string' ? (node['@Type'] as string) : undefined;
  return (element ?? attribute ?? '').toLowerCase().slice(0, 40);
}

/** An https URL as a redirect or endpoint may name it: a public host name, no credentials, parsable. */
function httpsUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    if (url.protocol !== 'https:' || url.username || url.password || !isPublicHostName(url.hostname)) return undefined;
    return url.href;
  } catch {
    return undefined;
  }
}

type AutodiscoverRefusal = Extract<AutodiscoverParseResult, { ok: false }>;
type AutodiscoverSettings = Extract<AutodiscoverParseResult, { action: 'settings' }>;
type AccountAction = 'settings' | 'redirectaddr' | 'redirecturl';

/** The Response/Account element, or why the answer has none (an Autodiscover error, another document). */
function readAccount(document: Node): { ok: true; account: Node } | AutodiscoverRefusal {
  const root = nodes(document['Autodiscover'])[0];
  const response = root ? nodes(root['Response'])[0] : undefined;
  if (!root || !response) return { ok: false, error: 'not_autodiscover', message: 'no Autodiscover/Response element' };
  const account = nodes(response['Account'])[0];
  if (account) return { ok: true, account };
  const error = nodes(response['Error'])[0];
  if (error) {
    const code = (texts(error, 'ErrorCode')[0] ?? '').slice(0, 20);
    const message = (texts(error, 'Message')[0] ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 120);
    return { ok: false, error: 'autodiscover_error', message: `Autodiscover error ${code}${message ? `: ${message}` : ''}` };
  }
  return { ok: false, error: 'not_autodiscover', message: 'no Response/Account element' };
}

/** What the Account asks of the reader (settings or a redirect), or why it cannot be read. */
function accountAction(account: Node): AccountAction | AutodiscoverRefusal {
  const accountType = texts(account, 'AccountType')[0];
  if (accountType !== undefined && accountType.toLowerCase() !== 'email') {
    return { ok: false, error: 'unsupported_account', message: `AccountType "${accountType.slice(0, 20)}" is not email` };
  }
  const actions = texts(account, 'Action').map((text) => text.toLowerCase());
  const action = actions.find((text): text is AccountAction => text === 'settings' || text === 'redirectaddr' || text === 'redirecturl');
  if (action !== undefined) return action;
  if (actions.length > 0) {
    return { ok: false, error: 'not_autodiscover', message: `Action "${(actions[0] ?? '').slice(0, 20)}" is not supported` };
  }
  // Without an Action, the answer is what it carries (as Thunderbird reads it).
  return account['RedirectAddr'] !== undefined ? 'redirectaddr' : account['RedirectUrl'] !== undefined ? 'redirecturl' : 'settings';
}

/** A RedirectAddr: the address to ask for instead, with a public host name as its domain. */
function readRedirectAddr(account: Node): AutodiscoverParseResult {
  const address = firstSupported(account, 'RedirectAddr', (text) => {
    if (!ADDRESS.test(text)) return undefined;
    const domain = text.slice(text.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, '');
    return isPublicHostName(domain) ? `${text.slice(0, text.lastIndexOf('@'))}@${domain}` : undefined;
  }).value;
  if (!address) return { ok: false, error: 'invalid_redirect', message: 'RedirectAddr is not a valid address' };
  return { ok: true, action: 'redirectAddr', address };
}

/** A RedirectUrl: the https URL to ask instead. */
function readRedirectUrl(account: Node): AutodiscoverParseResult {
  const url = firstSupported(account, 'RedirectUrl', httpsUrl).value;
  if (!url) return { ok: false, error: 'invalid_redirect', message: 'RedirectUrl is not an https URL' };
  return { ok: true, action: 'redirectUrl', url };
}

/** The Protocol sections of a settings Account: mail servers, Exchange offers and what was dropped. */
function readSettings(account: Node, address: string): AutodiscoverSettings {
  const servers: AutodiscoverServer[] = [];
  const dropped: string[] = [];
  let ewsUrl: string | undefined;
  let exchange = false;
  let perUser = false;
  const protocols = nodes(account['Protocol']);
  if (protocols.length > MAX_PROTOCOLS) dropped.push(`${protocols.length - MAX_PROTOCOLS} Protocol section(s) beyond ${MAX_PROTOCOLS} ignored`);
  for (const node of protocols.slice(0, MAX_PROTOCOLS)) {
    const type = protocolType(node);
    if (EXCHANGE_TYPES.has(type)) {
      exchange = true;
      ewsUrl ??= firstSupported(node, 'EwsUrl', httpsUrl).value;
      continue;
    }
    const protocol = ownValue(MAIL_TYPES, type);
    const read = protocol ? readProtocol(node, protocol, address) : `Protocol of type "${type}" is not supported`;
    if (typeof read === 'string') {
      dropped.push(read);
      continue;
    }
    perUser ||= read.perUser;
    servers.push(read.server);
  }
  const notes: string[] = [];
  if (perUser) notes.push('the login name is per user (given as the email address; the user may need to change it)');
  if (exchange && servers.length === 0) notes.push('only Exchange (EWS/MAPI) is offered, no IMAP, POP3 or SMTP');
  const kept = capPerProtocol(servers);
  const cut = droppedServersNote(kept.dropped);
  if (cut) dropped.unshift(cut);
  return { ok: true, action: 'settings', servers: kept.kept, dropped: boundedNotes(dropped), notes, ewsUrl, exchange };
}

/**
 * Reads an Outlook POX Autodiscover answer (MS-OXDSCLI, response schema 2006a): its settings, or a
 * RedirectAddr / RedirectUrl. Security: the text comes from hosts chosen by strangers, so any
 * DOCTYPE or ENTITY declaration refuses the whole document, entities are never expanded, every
 * value is validated and capped, and a repeated element yields its first supported value.
 * Privacy: a per-user LoginName is replaced by a template (answers are cached per domain).
 * Bounded work: more elements, attributes or nesting than document-limits.ts allows is refused
 * (`too_complex`) before parsing; at most MAX_SERVERS_PER_PROTOCOL servers of each protocol are kept.
 */
export function parseAutodiscoverXml(xml: string, options: AutodiscoverParseOptions): AutodiscoverParseResult {
  const parsed = parseHardenedXml(xml, parser);
  if (!parsed.ok) return parsed;
  const read = readAccount(parsed.document);
  if (!read.ok) return read;
  const { account } = read;
  const action = accountAction(account);
  if (typeof action !== 'string') return action;
  if (action === 'redirectaddr') return readRedirectAddr(account);
  if (action === 'redirecturl') return readRedirectUrl(account);
  return readSettings(account, options.address);
}

/** What a POX Autodiscover request asks (MS-OXDSCLI §2.2.3), or why it cannot be read. */
export type AutodiscoverRequestParseResult =
  | {
      ok: true;
      /** The EMailAddress as sent (trimmed); the caller validates it as an address. */
      address: string;
      /** The AcceptableResponseSchema, lower-cased; undefined when the request named none. */
      responseSchema: string | undefined;
    }
  | { ok: false; error: 'doctype_refused' | 'too_complex' | 'malformed_xml' | 'not_autodiscover' | 'no_address'; message: string };

/**
 * Reads an Autodiscover POX request sent to this service. Security: the body comes from anyone on
 * the internet, so it goes through the same hardened front door as the answers this service reads
 * (DOCTYPE refused, caps before parsing, entities never expanded) and values are length-capped.
 */
export function parseAutodiscoverRequestXml(xml: string): AutodiscoverRequestParseResult {
  const parsed = parseHardenedXml(xml, parser);
  if (!parsed.ok) return parsed;
  const root = nodes(parsed.document['Autodiscover'])[0];
  const request = root ? nodes(root['Request'])[0] : undefined;
  if (!request) return { ok: false, error: 'not_autodiscover', message: 'no Autodiscover/Request element' };
  const address = texts(request, 'EMailAddress').find((text) => text.length > 0 && text.length <= 320);
  if (address === undefined) return { ok: false, error: 'no_address', message: 'the request has no EMailAddress' };
  const schema = texts(request, 'AcceptableResponseSchema')[0];
  return { ok: true, address, responseSchema: schema === undefined || schema === '' ? undefined : schema.toLowerCase() };
}
