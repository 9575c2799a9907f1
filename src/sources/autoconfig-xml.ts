import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { authenticationSchema, type Authentication, type Protocol, type Security } from '../domain/schemas.js';

/** One server section of an autoconfig file; `username` keeps its placeholders. */
export interface AutoconfigServer {
  protocol: Protocol;
  host: string;
  port: number;
  security: Security;
  username: string;
  authentication: Authentication[];
}

/** The provider-like content of a Mozilla autoconfig file (config-v1.1.xml). */
export interface AutoconfigData {
  id: string | undefined;
  displayName: string | undefined;
  domains: string[];
  incoming: AutoconfigServer[];
  outgoing: AutoconfigServer[];
  documentation: string[];
}

/** Result of reading an autoconfig file: data plus why any server section was dropped, or why the file was refused. */
export type AutoconfigParseResult =
  | { ok: true; data: AutoconfigData; dropped: string[] }
  | { ok: false; error: 'doctype_refused' | 'malformed_xml' | 'not_autoconfig'; message: string };

/** Options of the reader. */
export interface AutoconfigParseOptions {
  /** The mail domain looked up: fills %EMAILDOMAIN% in host names (usernames keep their templates). */
  domain?: string;
}

const SOCKET_TYPES: Record<string, Security> = { ssl: 'tls', tls: 'tls', starttls: 'starttls', plain: 'none' };

/** Mozilla authentication values (and their legacy spellings) mapped to the service's enum. */
const AUTHENTICATION: Record<string, Authentication> = {
  'password-cleartext': 'password-cleartext',
  plain: 'password-cleartext',
  'password-encrypted': 'password-encrypted',
  secure: 'password-encrypted',
  oauth2: 'oauth2',
  ntlm: 'ntlm',
  gssapi: 'gssapi',
  'client-ip-address': 'client-ip-address',
  'tls-client-cert': 'tls-client-cert',
  none: 'none',
};

/** A DNS host name as discovery accepts it from untrusted documents and records (lower case, no IP literal). */
export const HOST = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  // Security: entities are never expanded (no billion laughs, no external entities); DOCTYPEs are
  // refused before parsing as well.
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  removeNSPrefix: true,
  isArray: (name) => ['emailProvider', 'domain', 'incomingServer', 'outgoingServer', 'authentication', 'documentation'].includes(name),
});

type Node = Record<string, unknown>;

const text = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  if (value && typeof value === 'object' && '#text' in value) return text((value as Node)['#text']);
  return undefined;
};

const nodes = (value: unknown): Node[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((item): item is Node => typeof item === 'object' && item !== null);

/** Decodes the five predefined XML entities and numeric references; no other entity exists here. */
function decodeBasicEntities(value: string): string {
  return value.replace(/&(lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (_match, name: string) => {
    if (name === 'lt') return '<';
    if (name === 'gt') return '>';
    if (name === 'amp') return '&';
    if (name === 'quot') return '"';
    if (name === 'apos') return "'";
    const code = name.startsWith('#x') ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}

function readServer(node: Node, kind: 'incoming' | 'outgoing', options: AutoconfigParseOptions): AutoconfigServer | string {
  const type = String(node['@type'] ?? '').toLowerCase();
  const protocols: Record<string, Protocol> = kind === 'incoming' ? { imap: 'imap', pop3: 'pop3' } : { smtp: 'smtp' };
  const protocol = protocols[type];
  if (!protocol) return `${kind} server of type "${type.slice(0, 20)}" is not supported`;
  let host = decodeBasicEntities(text(node['hostname']) ?? '').toLowerCase().replace(/\.$/, '');
  if (options.domain) host = host.replaceAll('%emaildomain%', options.domain);
  if (!HOST.test(host)) return `${protocol} server has an invalid hostname`;
  const portText = text(node['port']) ?? '';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return `${protocol} server ${host} has an invalid port`;
  const security = SOCKET_TYPES[(text(node['socketType']) ?? '').toLowerCase()];
  if (!security) return `${protocol} server ${host} has an unknown socketType`;
  const username = decodeBasicEntities(text(node['username']) ?? '%EMAILADDRESS%');
  if (username.length === 0 || username.length > 320 || /[\u0000-\u001f\u007f]/.test(username)) {
    return `${protocol} server ${host} has an invalid username`;
  }
  const authValues = (Array.isArray(node['authentication']) ? node['authentication'] : []).map((value) => (text(value) ?? '').toLowerCase());
  const authentication = [...new Set(authValues.flatMap((value) => (AUTHENTICATION[value] ? [AUTHENTICATION[value]] : [])))].filter(
    (value) => authenticationSchema.safeParse(value).success,
  );
  if (authValues.length > 0 && authentication.length === 0) return `${protocol} server ${host} offers no supported authentication`;
  return { protocol, host, port, security, username, authentication: authentication.length ? authentication : ['password-cleartext'] };
}

/**
 * Reads a Mozilla autoconfig file (clientConfig version 1.1), as served by ISPs, the well-known
 * location and the central ISPDB. Security: the text comes from hosts chosen by strangers, so any
 * DOCTYPE or ENTITY declaration refuses the whole file, entities are never expanded, and each value
 * is validated. Tolerant otherwise: unknown elements are ignored and an invalid server section is
 * dropped (and reported in `dropped`) rather than failing the file.
 */
export function parseAutoconfigXml(xml: string, options: AutoconfigParseOptions = {}): AutoconfigParseResult {
  if (/<!(DOCTYPE|ENTITY)/i.test(xml)) {
    return { ok: false, error: 'doctype_refused', message: 'DOCTYPE and ENTITY declarations are refused' };
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    return { ok: false, error: 'malformed_xml', message: `malformed XML at line ${valid.err.line}: ${valid.err.msg.slice(0, 120)}` };
  }
  let document: Node;
  try {
    document = parser.parse(xml) as Node;
  } catch (error) {
    return { ok: false, error: 'malformed_xml', message: `malformed XML: ${String((error as Error).message).slice(0, 120)}` };
  }
  const root = nodes(document['clientConfig'])[0];
  const provider = root ? nodes(root['emailProvider'])[0] : undefined;
  if (!root || !provider) return { ok: false, error: 'not_autoconfig', message: 'no clientConfig/emailProvider element' };

  const dropped: string[] = [];
  const incoming: AutoconfigServer[] = [];
  const outgoing: AutoconfigServer[] = [];
  for (const [kind, list, element] of [
    ['incoming', incoming, 'incomingServer'],
    ['outgoing', outgoing, 'outgoingServer'],
  ] as const) {
    for (const node of nodes(provider[element])) {
      const server = readServer(node, kind, options);
      if (typeof server === 'string') dropped.push(server);
      else list.push(server);
    }
  }
  const domains = (Array.isArray(provider['domain']) ? provider['domain'] : [])
    .map((value) => (text(value) ?? '').toLowerCase())
    .filter((value) => HOST.test(value));
  const documentation = nodes(provider['documentation'])
    .map((node) => decodeBasicEntities(String(node['@url'] ?? '')))
    .filter((url) => /^https:\/\/[^\s]+$/.test(url));
  const id = text(provider['@id']);
  const displayName = text(provider['displayName']);
  return {
    ok: true,
    data: {
      id: id ? decodeBasicEntities(id).slice(0, 200) : undefined,
      displayName: displayName ? decodeBasicEntities(displayName).slice(0, 200) : undefined,
      domains,
      incoming,
      outgoing,
      documentation,
    },
    dropped,
  };
}
