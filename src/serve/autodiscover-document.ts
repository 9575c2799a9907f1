import { renderUsername, type LookupSubject } from '../api/input.js';
import type { Security } from '../api/schemas.js';
import { AUTODISCOVER_RESPONSE_SCHEMA, escapeXml } from '../formats/autodiscover-xml.js';
import type { Provider, ProviderServer } from '../provider-db/schema.js';

/** The outer namespace of every POX Autodiscover answer (MS-OXDSCLI §2.2.4). */
const RESPONSE_ENVELOPE = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';

/**
 * The Encryption value that says exactly what the server expects: "SSL" is implicit TLS, "TLS" is
 * STARTTLS (as Outlook's own account dialog names them), "None" is no encryption. Readers that only
 * look at SSL on/off still get the right mode on the well-known ports.
 */
const ENCRYPTION: Record<Security, string> = { tls: 'SSL', starttls: 'TLS', none: 'None' };

/** How a server's login is said in POX, or undefined when POX cannot say it (OAuth2 only, Kerberos, certificates). */
function loginOf(server: ProviderServer): { spa: 'on' | 'off'; authRequired: 'on' | 'off' } | undefined {
  const methods = server.authentication as readonly string[];
  // An SMTP server that needs no login relays by the client's address.
  if (server.protocol === 'smtp' && methods.length === 1 && methods[0] === 'none') return { spa: 'off', authRequired: 'off' };
  if (methods.includes('password-cleartext') || methods.includes('password-encrypted')) return { spa: 'off', authRequired: 'on' };
  // SPA is Microsoft's Secure Password Authentication, i.e. NTLM.
  if (methods.includes('ntlm')) return { spa: 'on', authRequired: 'on' };
  return undefined;
}

/** The servers of a provider that POX can describe, in the file's order. */
export function autodiscoverServers(provider: Provider): ProviderServer[] {
  return [...provider.incoming, ...provider.outgoing].filter((server) => loginOf(server) !== undefined);
}

function protocolSection(server: ProviderServer, subject: LookupSubject): string {
  const login = loginOf(server);
  if (!login) return '';
  return [
    '      <Protocol>',
    `        <Type>${server.protocol.toUpperCase()}</Type>`,
    `        <Server>${escapeXml(server.host)}</Server>`,
    `        <Port>${server.port}</Port>`,
    `        <DomainRequired>off</DomainRequired>`,
    // POX has no templates: the login name is the provider's template filled in with the address the
    // request carried (the same shape for every local part; nothing is looked up).
    `        <LoginName>${escapeXml(renderUsername(server.username, subject))}</LoginName>`,
    `        <SPA>${login.spa}</SPA>`,
    `        <SSL>${server.security === 'none' ? 'off' : 'on'}</SSL>`,
    `        <Encryption>${ENCRYPTION[server.security]}</Encryption>`,
    `        <AuthRequired>${login.authRequired}</AuthRequired>`,
    '      </Protocol>',
  ].join('\n');
}

/**
 * The Outlook POX answer (MS-OXDSCLI, response schema 2006a) for one address at a served domain:
 * its IMAP, POP3 and SMTP servers with `Action` settings. Pure. Privacy: it echoes only the address
 * the caller sent; it is never cached.
 */
export function renderAutodiscoverXml(provider: Provider, subject: LookupSubject): string {
  const sections = autodiscoverServers(provider).map((server) => protocolSection(server, subject));
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${RESPONSE_ENVELOPE}">`,
    `  <Response xmlns="${AUTODISCOVER_RESPONSE_SCHEMA}">`,
    '    <Account>',
    '      <AccountType>email</AccountType>',
    '      <Action>settings</Action>',
    ...sections,
    '    </Account>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}

/** POX error codes this service answers with (MS-OXDSCLI §2.2.4.1.1.2): 600 invalid request, 601 schema not offered. */
export type AutodiscoverErrorCode = 600 | 601;

/**
 * The POX error answer: what an Autodiscover client expects instead of settings. `Time` and `Id` are
 * fixed (they identify a server's log entry; this service keeps none per request).
 */
export function renderAutodiscoverErrorXml(code: AutodiscoverErrorCode, message: string): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${RESPONSE_ENVELOPE}">`,
    '  <Response>',
    '    <Error Time="00:00:00" Id="0">',
    `      <ErrorCode>${code}</ErrorCode>`,
    `      <Message>${escapeXml(message)}</Message>`,
    '      <DebugData />',
    '    </Error>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}
