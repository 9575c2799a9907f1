import { renderUsername, type LookupSubject } from '../api/input.js';
import { byProtocolAndSecurity } from '../formats/rank.js';
import type { Provider, ProviderServer } from '../provider-db/schema.js';
import { plistXml, type PlistValue } from './plist-xml.js';
import { stableUuid } from './stable-uuid.js';

/** The media type iOS, iPadOS and macOS install a configuration profile from. */
export const MOBILECONFIG_CONTENT_TYPE = 'application/x-apple-aspen-config';

/** A subject with an address: a profile is always for one mailbox. */
export type AddressSubject = LookupSubject & { email: string; localPart: string };

/** The login methods of the Mail payload, best first, by the authentication values of a provider file. */
function appleAuthentication(server: ProviderServer): string | undefined {
  const methods = server.authentication as readonly string[];
  if (methods.includes('password-cleartext')) return 'EmailAuthPassword';
  if (methods.includes('password-encrypted')) return 'EmailAuthCRAMMD5';
  if (methods.includes('ntlm')) return 'EmailAuthNTLM';
  if (methods.length === 1 && methods[0] === 'none') return 'EmailAuthNone';
  // OAuth2, Kerberos and client certificates cannot be said in a com.apple.mail.managed payload.
  return undefined;
}

/** The best server Apple's Mail payload can describe: IMAP before POP3, TLS before STARTTLS before none (as answers rank). */
function best(servers: readonly ProviderServer[]): ProviderServer | undefined {
  return byProtocolAndSecurity(servers.filter((server) => appleAuthentication(server) !== undefined))[0];
}

/** The incoming and outgoing server a profile names, or undefined when the provider has no pair Apple can describe. */
export function mobileconfigServers(provider: Provider): { incoming: ProviderServer; outgoing: ProviderServer } | undefined {
  const incoming = best(provider.incoming);
  const outgoing = best(provider.outgoing);
  return incoming && outgoing ? { incoming, outgoing } : undefined;
}

function serverKeys(prefix: 'Incoming' | 'Outgoing', server: ProviderServer, subject: AddressSubject): Record<string, PlistValue> {
  return {
    [`${prefix}MailServerHostName`]: server.host,
    [`${prefix}MailServerPortNumber`]: server.port,
    // Apple's switch covers implicit TLS and STARTTLS alike (Mail picks by the port).
    [`${prefix}MailServerUseSSL`]: server.security !== 'none',
    [`${prefix}MailServerAuthentication`]: appleAuthentication(server) ?? 'EmailAuthPassword',
    [`${prefix}MailServerUsername`]: renderUsername(server.username, subject),
  };
}

/**
 * An unsigned Apple configuration profile (XML property list) with one Mail account payload for the
 * address: the incoming server (IMAP, else POP3) and SMTP, no password (the device asks for it).
 * The UUIDs and identifiers are derived from the address, so installing it again replaces the
 * account. Pure; undefined when the provider has no server pair the payload can describe.
 */
export function renderMobileconfig(provider: Provider, subject: AddressSubject): string | undefined {
  const servers = mobileconfigServers(provider);
  if (!servers) return undefined;
  const seed = subject.email.toLowerCase();
  const profileUuid = stableUuid(`mobileconfig:profile:${seed}`);
  const identifier = `${subject.domain.split('.').reverse().join('.')}.mail.${profileUuid}`;
  const protocol = servers.incoming.protocol === 'imap' ? 'IMAP' : 'POP3';
  const account: Record<string, PlistValue> = {
    PayloadType: 'com.apple.mail.managed',
    PayloadVersion: 1,
    PayloadIdentifier: `${identifier}.account`,
    PayloadUUID: stableUuid(`mobileconfig:account:${seed}`),
    PayloadDisplayName: provider.name,
    EmailAccountDescription: provider.name,
    EmailAccountType: protocol === 'IMAP' ? 'EmailTypeIMAP' : 'EmailTypePOP',
    EmailAddress: subject.email,
    ...serverKeys('Incoming', servers.incoming, subject),
    ...serverKeys('Outgoing', servers.outgoing, subject),
    OutgoingPasswordSameAsIncomingPassword: appleAuthentication(servers.outgoing) !== 'EmailAuthNone',
  };
  return plistXml({
    PayloadContent: [account],
    PayloadDescription: `Sets up the mail account ${subject.email} (${protocol} and SMTP). Your password is asked for on the device.`,
    PayloadDisplayName: `${provider.name}: ${subject.email}`,
    PayloadIdentifier: identifier,
    PayloadOrganization: provider.name,
    PayloadRemovalDisallowed: false,
    PayloadType: 'Configuration',
    PayloadUUID: profileUuid,
    PayloadVersion: 1,
  });
}
