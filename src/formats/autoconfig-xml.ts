import { isPublicHostName } from '../api/input.js';
import { ownValue } from './own-value.js';
import { authenticationSchema, type Authentication, type Protocol, type Security } from '../api/schemas.js';
import {
  boundedNotes,
  capPerProtocol,
  droppedServersNote,
  GUIDANCE_TEXT_MAX_CHARS,
  MAX_GUIDANCE_ENTRIES,
  MAX_GUIDANCE_LANGUAGES,
} from './document-limits.js';
import type { DocumentServer } from './candidate.js';
import { decodeBasicEntities, hardenedXmlParser, parseHardenedXml, xmlNodes, type XmlNode } from './hardened-xml.js';

/** One server section of an autoconfig file; `username` keeps its placeholders. */
export type AutoconfigServer = DocumentServer;

/** A URL-based incoming server of an autoconfig 1.2 file (JMAP, EWS, ActiveSync): not IMAP/POP3/SMTP. */
export interface AutoconfigUrlServer {
  kind: 'jmap' | 'ews' | 'activesync';
  url: string;
}

/** The `<oAuth2>` element of an autoconfig 1.2 file (draft-ietf-mailmaint-autoconfig, "OAuth2 requirements"). */
export interface AutoconfigOAuth2 {
  issuer: string;
  scopes: string[];
  authorizationEndpoint: string | undefined;
  tokenEndpoint: string | undefined;
}

/** One language's text of an `<instruction>` or `<descr>`: a lower-case language tag (`und` when none was given). */
export interface AutoconfigText {
  lang: string;
  text: string;
}

/** An `<enable visiturl>` element: something the user must turn on first (e.g. IMAP access), and where. */
export interface AutoconfigInstruction {
  /** The https page to visit; undefined when the document gave none (or not an https one). */
  url: string | undefined;
  texts: AutoconfigText[];
}

/** A `<documentation url>` element: a help page and its description per language. */
export interface AutoconfigDocumentationPage {
  url: string;
  texts: AutoconfigText[];
}

/** The provider-like content of a Mozilla autoconfig file (config-v1.1.xml, and the 1.2 additions). */
export interface AutoconfigData {
  id: string | undefined;
  displayName: string | undefined;
  /** Mail domains the file is for (`<domain>` without a purpose). */
  domains: string[];
  /** `<domain purpose="mx">`: the file also applies to addresses whose MX host is within these. */
  mxDomains: string[];
  incoming: AutoconfigServer[];
  outgoing: AutoconfigServer[];
  /** URL-based incoming servers (1.2): access methods other than IMAP/POP3/SMTP. */
  urlServers: AutoconfigUrlServer[];
  oauth2: AutoconfigOAuth2 | undefined;
  /** `<documentation url>` values (https), as the provider importer takes them. */
  documentation: string[];
  /** `<enable>` elements with their per-language `<instruction>` texts (at most MAX_GUIDANCE_ENTRIES). */
  instructions: AutoconfigInstruction[];
  /** `<documentation>` elements with an https URL and their per-language `<descr>` texts (at most MAX_GUIDANCE_ENTRIES). */
  documentationPages: AutoconfigDocumentationPage[];
}

/** Result of reading an autoconfig file: data plus why any server section was dropped, or why the file was refused. */
export type AutoconfigParseResult =
  | { ok: true; data: AutoconfigData; dropped: string[] }
  | { ok: false; error: 'doctype_refused' | 'too_complex' | 'malformed_xml' | 'not_autoconfig'; message: string };

/** Options of the reader. */
export interface AutoconfigParseOptions {
  /** The mail domain looked up: fills %EMAILDOMAIN% in host names (usernames keep their templates). */
  domain?: string;
}

/**
 * The only socketType values draft-ietf-mailmaint-autoconfig defines (case aside). Anything else
 * (`TLS`, `ssl/tls`, `auto` …) is not understood and never guessed: `TLS` on 143 or 587 usually
 * means STARTTLS in a settings UI, so reading it as implicit TLS would give a wrong answer.
 */
const SOCKET_TYPES: Record<string, Security> = { ssl: 'tls', starttls: 'starttls', plain: 'none' };

/** URL-based incoming server types of autoconfig 1.2, by lower-cased `type`. */
const URL_SERVER_TYPES: Record<string, AutoconfigUrlServer['kind']> = { jmap: 'jmap', ews: 'ews', activesync: 'activesync' };

/** Mozilla authentication values (and their legacy spellings) mapped to the service's enum. */
const AUTHENTICATION: Record<string, Authentication> = {
  'password-cleartext': 'password-cleartext',
  plain: 'password-cleartext',
  'password-encrypted': 'password-encrypted',
  secure: 'password-encrypted',
  oauth2: 'oauth2',
  // The draft's list of TCP authentication values spells it `OAuth` once: the same SASL OAUTHBEARER.
  oauth: 'oauth2',
  ntlm: 'ntlm',
  gssapi: 'gssapi',
  'client-ip-address': 'client-ip-address',
  'tls-client-cert': 'tls-client-cert',
  none: 'none',
};

const REPEATABLE = new Set([
  'emailProvider', 'domain', 'incomingServer', 'outgoingServer', 'authentication', 'documentation',
  'hostname', 'port', 'socketType', 'username', 'url', 'oAuth2', 'issuer', 'scope', 'authURL', 'tokenURL', 'displayName',
  'enable', 'instruction', 'descr',
]);

// Every element that may repeat is read as a list, so that a repeated <hostname> or <port> (a
// forward-compatible document may add one) is read as "the first one" instead of failing.
const parser = hardenedXmlParser((name) => REPEATABLE.has(name));

type Node = XmlNode;

const text = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  if (value && typeof value === 'object' && '#text' in value) return text((value as Node)['#text']);
  return undefined;
};

/** Text of every occurrence of a repeatable element, in document order. */
const texts = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).flatMap((item) => {
    const itemText = text(item);
    return itemText === undefined ? [] : [itemText];
  });

/** Text of the first occurrence (draft-ietf-mailmaint-autoconfig: unknown repeats are ignored; the first wins). */
const first = (value: unknown): string | undefined => texts(value)[0];

const nodes = xmlNodes;

function readServer(node: Node, kind: 'incoming' | 'outgoing', options: AutoconfigParseOptions): AutoconfigServer | string {
  const type = String(node['@type'] ?? '').toLowerCase();
  const protocols: Record<string, Protocol> = kind === 'incoming' ? { imap: 'imap', pop3: 'pop3' } : { smtp: 'smtp' };
  const protocol = ownValue(protocols, type);
  if (!protocol) return `${kind} server of type "${type.slice(0, 20)}" is not supported`;
  let host = decodeBasicEntities(first(node['hostname']) ?? '').toLowerCase().replace(/\.$/, '');
  if (options.domain) host = host.replaceAll('%emaildomain%', options.domain);
  if (!isPublicHostName(host)) return `${protocol} server has an invalid hostname`;
  const portText = first(node['port']) ?? '';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return `${protocol} server ${host} has an invalid port`;
  // The first socketType this reader understands wins; later ones are a newer document's fallbacks.
  const security = texts(node['socketType']).map((value) => ownValue(SOCKET_TYPES, value.toLowerCase())).find((value) => value !== undefined);
  if (!security) return `${protocol} server ${host} has no supported socketType (SSL, STARTTLS or plain)`;
  const username = decodeBasicEntities(first(node['username']) ?? '%EMAILADDRESS%');
  if (username.length === 0 || username.length > 320 || /[\u0000-\u001f\u007f]/.test(username)) {
    return `${protocol} server ${host} has an invalid username`;
  }
  const authNodes = Array.isArray(node['authentication']) ? node['authentication'] : [];
  // A `system` attribute names an HTTP or a specific SASL mechanism (autoconfig 1.2): not one of
  // the generic values below, so it is skipped like any value this reader does not support.
  const authValues = authNodes.map((value) => (isObject(value) && value['@system'] !== undefined ? '' : (text(value) ?? '').toLowerCase()));
  const authentication = [...new Set(authValues.flatMap((value) => ownValue(AUTHENTICATION, value) ?? []))].filter(
    (value) => authenticationSchema.safeParse(value).success,
  );
  if (authValues.length > 0 && authentication.length === 0) return `${protocol} server ${host} offers no supported authentication`;
  return { protocol, host, port, security, username, authentication: authentication.length ? authentication : ['password-cleartext'] };
}

const isObject = (value: unknown): value is Node => typeof value === 'object' && value !== null;

/** An https URL from a document on a public host name, or undefined (no credentials, no spaces, length-capped). */
function httpsUrl(value: string | undefined): string | undefined {
  const decoded = decodeBasicEntities(value ?? '');
  if (decoded.length > 2000 || !/^https:\/\/[^\s]+$/i.test(decoded)) return undefined;
  try {
    const url = new URL(decoded);
    return url.protocol === 'https:' && !url.username && !url.password && isPublicHostName(url.hostname) ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** A URL-based incoming server (1.2: jmap, ews, activesync), or why it was dropped. */
function readUrlServer(node: Node): AutoconfigUrlServer | string | undefined {
  const kind = ownValue(URL_SERVER_TYPES, String(node['@type'] ?? '').toLowerCase());
  if (!kind) return undefined;
  const url = httpsUrl(first(node['url']));
  return url ? { kind, url } : `${kind} server has no https URL`;
}

/** The 1.2 `<oAuth2>` element: an issuer is required, endpoints must be https. */
function readOAuth2(node: Node | undefined): AutoconfigOAuth2 | undefined {
  if (!node) return undefined;
  const issuer = decodeBasicEntities(first(node['issuer']) ?? '').toLowerCase();
  if (!issuer || issuer.length > 253 || !(isPublicHostName(issuer) || httpsUrl(issuer))) return undefined;
  const scopes = decodeBasicEntities(first(node['scope']) ?? '')
    .split(/\s+/)
    .filter((scope) => scope.length > 0 && scope.length <= 200)
    .slice(0, 20);
  return { issuer, scopes, authorizationEndpoint: httpsUrl(first(node['authURL'])), tokenEndpoint: httpsUrl(first(node['tokenURL'])) };
}

/** A language tag as this service keeps it: lower-case, BCP 47-like (primary subtag of 2–3 letters, then subtags). */
const LANGUAGE_TAG = /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/;

/**
 * The normalised language tag of an `<instruction>` or `<descr>`: lower-case, `_` read as `-`; `und`
 * (BCP 47 "undetermined") when the element names none; undefined when the value is not a tag.
 * Security: the tag is shown and used as an HTML `lang` attribute, so only this shape passes.
 */
export function normaliseLanguageTag(value: unknown): string | undefined {
  if (value === undefined) return 'und';
  if (typeof value !== 'string' || value.length > 35) return undefined;
  const tag = value.trim().toLowerCase().replaceAll('_', '-');
  return LANGUAGE_TAG.test(tag) ? tag : undefined;
}

/**
 * Characters removed from guidance texts. Security: C0/C1 controls (a terminal or a log reader may
 * act on them), and bidirectional overrides and isolates, which can make a shown URL or sentence
 * read differently from what it is.
 */
const UNSHOWABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A guidance text as shown to users: the five XML entities and numeric references decoded (nothing
 * else is expanded), controls removed, whitespace collapsed, cut to GUIDANCE_TEXT_MAX_CHARS code points.
 */
export function cleanGuidanceText(value: string): string {
  const cleaned = decodeBasicEntities(value).replace(UNSHOWABLE, '').replace(/\s+/g, ' ').trim();
  const chars = Array.from(cleaned);
  return chars.length <= GUIDANCE_TEXT_MAX_CHARS ? cleaned : `${chars.slice(0, GUIDANCE_TEXT_MAX_CHARS - 1).join('').trimEnd()}…`;
}

/**
 * The per-language texts of `<instruction>` or `<descr>` elements: the first text of each valid
 * language, at most MAX_GUIDANCE_LANGUAGES; empty texts and invalid language tags are dropped.
 */
function languageTexts(value: unknown): AutoconfigText[] {
  const result: AutoconfigText[] = [];
  for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
    if (result.length >= MAX_GUIDANCE_LANGUAGES) break;
    const lang = normaliseLanguageTag(isObject(item) ? item['@lang'] : undefined);
    const body = text(item);
    if (!lang || body === undefined || result.some((entry) => entry.lang === lang)) continue;
    const cleaned = cleanGuidanceText(body);
    if (cleaned) result.push({ lang, text: cleaned });
  }
  return result;
}

/**
 * `<enable visiturl>` entries: a non-https (or otherwise refused) URL is dropped and the texts kept;
 * an entry left with neither URL nor text is dropped. At most MAX_GUIDANCE_ENTRIES, in document order.
 */
function readInstructions(provider: Node): AutoconfigInstruction[] {
  const result: AutoconfigInstruction[] = [];
  for (const node of nodes(provider['enable'])) {
    if (result.length >= MAX_GUIDANCE_ENTRIES) break;
    const url = httpsUrl(typeof node['@visiturl'] === 'string' ? node['@visiturl'] : undefined);
    const texts = languageTexts(node['instruction']);
    if (url || texts.length > 0) result.push({ url, texts });
  }
  return result;
}

/** `<documentation url>` entries with an https URL (else dropped) and their `<descr>` texts; at most MAX_GUIDANCE_ENTRIES. */
function readDocumentationPages(provider: Node): AutoconfigDocumentationPage[] {
  const result: AutoconfigDocumentationPage[] = [];
  for (const node of nodes(provider['documentation'])) {
    if (result.length >= MAX_GUIDANCE_ENTRIES) break;
    const url = httpsUrl(typeof node['@url'] === 'string' ? node['@url'] : undefined);
    if (url) result.push({ url, texts: languageTexts(node['descr']) });
  }
  return result;
}

/**
 * Reads a Mozilla autoconfig file (clientConfig version 1.1), as served by ISPs, the well-known
 * location and the central ISPDB. Security: the text comes from hosts chosen by strangers, so any
 * DOCTYPE or ENTITY declaration refuses the whole file, entities are never expanded, and each value
 * is validated. Tolerant otherwise: unknown elements are ignored and an invalid server section is
 * dropped (and reported in `dropped`) rather than failing the file.
 * Bounded work: a document with more elements, attributes or nesting than the caps of
 * document-limits.ts is refused (`too_complex`) before any parser sees it, and at most
 * MAX_SERVERS_PER_PROTOCOL servers of each protocol are kept (the first ones, in document order).
 */
export function parseAutoconfigXml(xml: string, options: AutoconfigParseOptions = {}): AutoconfigParseResult {
  const parsed = parseHardenedXml(xml, parser);
  if (!parsed.ok) return parsed;
  const document = parsed.document;
  const root = nodes(document['clientConfig'])[0];
  const provider = root ? nodes(root['emailProvider'])[0] : undefined;
  if (!root || !provider) return { ok: false, error: 'not_autoconfig', message: 'no clientConfig/emailProvider element' };

  const dropped: string[] = [];
  const incoming: AutoconfigServer[] = [];
  const outgoing: AutoconfigServer[] = [];
  const urlServers: AutoconfigUrlServer[] = [];
  for (const node of nodes(provider['incomingServer'])) {
    const urlServer = readUrlServer(node);
    if (typeof urlServer === 'string') dropped.push(urlServer);
    else if (urlServer) urlServers.push(urlServer);
    else collect(readServer(node, 'incoming', options), incoming, dropped);
  }
  for (const node of nodes(provider['outgoingServer'])) collect(readServer(node, 'outgoing', options), outgoing, dropped);
  // Security: a document may list thousands of servers; each one costs a line in every answer
  // rendered from the cache (and a live check when asked for).
  const keptIncoming = capPerProtocol(incoming);
  const keptOutgoing = capPerProtocol(outgoing);
  const keptUrlServers = capPerProtocol(urlServers.map((server) => ({ ...server, protocol: server.kind })));
  const cut = droppedServersNote([...keptIncoming.dropped, ...keptOutgoing.dropped, ...keptUrlServers.dropped]);
  if (cut) dropped.unshift(cut);
  const domainNodes = Array.isArray(provider['domain']) ? provider['domain'] : [];
  const purposeOf = (node: unknown) => (isObject(node) && node['@purpose'] !== undefined ? String(node['@purpose']).toLowerCase() : '');
  const domainsWith = (purpose: '' | 'mx') =>
    domainNodes
      .filter((node) => purposeOf(node) === purpose)
      .map((value) => (text(value) ?? '').toLowerCase())
      .filter((value) => isPublicHostName(value));
  const documentation = nodes(provider['documentation'])
    .map((node) => decodeBasicEntities(String(node['@url'] ?? '')))
    .filter((url) => /^https:\/\/[^\s]+$/.test(url));
  const id = text(provider['@id']);
  const displayName = first(provider['displayName']);
  return {
    ok: true,
    data: {
      id: id ? decodeBasicEntities(id).slice(0, 200) : undefined,
      displayName: displayName ? decodeBasicEntities(displayName).slice(0, 200) : undefined,
      // A <domain> with another purpose than "mx" is one this reader does not know: not a mail domain.
      domains: domainsWith(''),
      mxDomains: domainsWith('mx'),
      incoming: keptIncoming.kept,
      outgoing: keptOutgoing.kept,
      urlServers: keptUrlServers.kept.map(({ kind, url }) => ({ kind, url })),
      oauth2: readOAuth2(nodes(root['oAuth2'])[0]),
      documentation,
      instructions: readInstructions(provider),
      documentationPages: readDocumentationPages(provider),
    },
    dropped: boundedNotes(dropped),
  };
}

function collect(server: AutoconfigServer | string, list: AutoconfigServer[], dropped: string[]): void {
  if (typeof server === 'string') dropped.push(server);
  else list.push(server);
}
