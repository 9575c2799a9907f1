import type { Protocol } from '../api/schemas.js';
import { PACC_PORTS, paccTxtValue } from '../formats/pacc-json.js';
import type { Provider, ProviderServer } from '../provider-db/schema.js';

/** A served PACC document: its exact bytes and the TXT value that vouches for them. */
export interface PaccDocument {
  /** The body, byte for byte as served (the digest is over these bytes). */
  bytes: Buffer;
  /** `v=UAAC1; a=sha256; d=…` for `_ua-auto-config.<domain>`. */
  txt: string;
  /** The servers the document names, in document order. */
  servers: ProviderServer[];
}

const PASSWORD_METHODS: readonly string[] = ['password-cleartext', 'password-encrypted'];

/**
 * Whether PACC can describe the server: implicit TLS on the protocol's registered port, the whole
 * address as username (PACC has no other), and a login PACC knows.
 */
function expressible(server: ProviderServer, provider: Provider): boolean {
  if (server.security !== 'tls' || server.port !== PACC_PORTS[server.protocol] || server.username !== '%EMAILADDRESS%') return false;
  const methods = server.authentication as readonly string[];
  return methods.some((method) => PASSWORD_METHODS.includes(method)) || (methods.includes('oauth2') && provider.oauth2 !== undefined);
}

/**
 * The PACC configuration document (draft-ietf-mailmaint-pacc-02) for a provider, or undefined when
 * it has no incoming server PACC can describe. PACC knows one host per protocol, always on implicit
 * TLS at the registered port (993, 995, 465), and one login rule for all of them: the first such
 * server of each protocol is taken; STARTTLS and plaintext servers cannot be said. Pure and
 * deterministic (fixed member order), so the digest stays the same for the same provider file.
 */
export function renderPaccDocument(provider: Provider): PaccDocument | undefined {
  const chosen = new Map<Protocol, ProviderServer>();
  for (const server of [...provider.incoming, ...provider.outgoing]) {
    if (!chosen.has(server.protocol) && expressible(server, provider)) chosen.set(server.protocol, server);
  }
  if (!chosen.has('imap') && !chosen.has('pop3')) return undefined;
  const servers = [...chosen.values()];
  const methods = new Set(servers.flatMap((server) => server.authentication as readonly string[]));
  const protocols: Record<string, { host: string }> = {};
  for (const server of servers) protocols[server.protocol] = { host: server.host };
  const authentication: Record<string, unknown> = { password: [...methods].some((method) => PASSWORD_METHODS.includes(method)) };
  // OAuth issuers are named by their https URL (RFC 8414 §2); the provider file names the host.
  if (provider.oauth2 && methods.has('oauth2')) authentication['oauth-public'] = { issuer: `https://${provider.oauth2.issuer}` };
  const document = { protocols, authentication, info: { provider: { name: provider.name } } };
  const bytes = Buffer.from(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
  return { bytes, txt: paccTxtValue(bytes), servers };
}
