import type { Authentication, Security } from '../api/schemas.js';
import { escapeXml } from '../formats/autodiscover-xml.js';
import type { Provider, ProviderServer } from '../provider-db/schema.js';

/** Mozilla's spelling of each authentication value (draft-ietf-mailmaint-autoconfig; readers compare without case). */
const AUTHENTICATION_NAMES: Record<Authentication, string> = {
  'password-cleartext': 'password-cleartext',
  'password-encrypted': 'password-encrypted',
  oauth2: 'OAuth2',
  ntlm: 'NTLM',
  gssapi: 'GSSAPI',
  'client-ip-address': 'client-IP-address',
  'tls-client-cert': 'TLS-client-cert',
  none: 'none',
};

/** The three socketType values the draft defines: SSL is implicit TLS, plain is no TLS at all. */
const SOCKET_TYPES: Record<Security, string> = { tls: 'SSL', starttls: 'STARTTLS', none: 'plain' };

/** Hint kinds that say something must be switched on first: served as `<enable visiturl>`. */
const ENABLE_HINTS = new Set(['enable-imap', 'enable-pop3']);

function serverSection(server: ProviderServer, indent: string): string {
  const element = server.protocol === 'smtp' ? 'outgoingServer' : 'incomingServer';
  const lines = [
    `<${element} type="${server.protocol}">`,
    `  <hostname>${escapeXml(server.host)}</hostname>`,
    `  <port>${server.port}</port>`,
    `  <socketType>${SOCKET_TYPES[server.security]}</socketType>`,
    ...server.authentication.map((method) => `  <authentication>${AUTHENTICATION_NAMES[method]}</authentication>`),
    // The template itself: the client fills in the address (and so the document is the same for everyone).
    `  <username>${escapeXml(server.username)}</username>`,
    `</${element}>`,
  ];
  return lines.map((line) => `${indent}${line}`).join('\n');
}

/** The autoconfig 1.2 `<oAuth2>` element (draft-ietf-mailmaint-autoconfig), when the provider file has OAuth details. */
function oauth2Section(provider: Provider): string[] {
  const oauth2 = provider.oauth2;
  if (!oauth2) return [];
  return [
    '  <oAuth2>',
    `    <issuer>${escapeXml(oauth2.issuer)}</issuer>`,
    `    <scope>${escapeXml(oauth2.scopes.join(' '))}</scope>`,
    `    <authURL>${escapeXml(oauth2.authorizationEndpoint)}</authURL>`,
    `    <tokenURL>${escapeXml(oauth2.tokenEndpoint)}</tokenURL>`,
    '  </oAuth2>',
  ];
}

/** `<enable>` entries for the provider's "switch it on first" hints, and `<documentation>` for its help pages. */
function guidanceSections(provider: Provider): string[] {
  const enables = provider.hints
    .filter((hint) => ENABLE_HINTS.has(hint.kind))
    .map((hint) => [
      `    <enable${hint.url ? ` visiturl="${escapeXml(hint.url)}"` : ''}>`,
      // Provider files are written in English.
      `      <instruction lang="en">${escapeXml(hint.text)}</instruction>`,
      '    </enable>',
    ]);
  const pages = provider.documentation.map((url) => [`    <documentation url="${escapeXml(url)}"/>`]);
  return [...enables, ...pages].flat();
}

/**
 * A Mozilla autoconfig document (clientConfig 1.1, with the 1.2 `<oAuth2>` element when the provider
 * has OAuth details) for one served mail domain, from its provider file. Pure; the same text for
 * every user of the domain: usernames stay templates (%EMAILADDRESS% …), so the document reveals
 * nothing about any mailbox and can be cached.
 */
export function renderAutoconfigXml(provider: Provider, domain: string): string {
  const name = escapeXml(provider.name);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<clientConfig version="1.1">',
    `  <emailProvider id="${escapeXml(domain)}">`,
    `    <domain>${escapeXml(domain)}</domain>`,
    `    <displayName>${name}</displayName>`,
    `    <displayShortName>${name}</displayShortName>`,
    ...provider.incoming.map((server) => serverSection(server, '    ')),
    ...provider.outgoing.map((server) => serverSection(server, '    ')),
    ...guidanceSections(provider),
    '  </emailProvider>',
    ...oauth2Section(provider),
    '</clientConfig>',
  ];
  return `${lines.join('\n')}\n`;
}
