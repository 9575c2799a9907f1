import type { AlternativeKind, Authentication, OAuth2Details, Protocol, Security } from '../api/schemas.js';

/** One IMAP, POP3 or SMTP server as a settings document (autoconfig, Autodiscover) names it; `username` is a template. */
export interface DocumentServer {
  protocol: Protocol;
  host: string;
  port: number;
  security: Security;
  username: string;
  authentication: Authentication[];
}

/** A server found by a source; `username` is still a template (%EMAILADDRESS% …). */
export interface CandidateServer {
  protocol: Protocol;
  host: string;
  port: number;
  security: Security;
  username: string;
  authentication: Authentication[] | string[];
  /** Provenance, e.g. `provider-db:gmail`, `srv:_imaps._tcp.example.com`, `mx:aspmx.l.google.com`. */
  source: string;
  /** False when the answer came over a channel an attacker could change (plain HTTP). */
  trusted: boolean;
  /** OAuth 2.0 sign-in details, only on a server whose `authentication` contains oauth2. */
  oauth2?: OAuth2Details;
}

/** A server's own fields (no provenance), copied: the authentication list is a new array. */
export function documentServerFields(
  server: Pick<CandidateServer, 'protocol' | 'host' | 'port' | 'security' | 'username' | 'authentication'>,
): Pick<CandidateServer, 'protocol' | 'host' | 'port' | 'security' | 'username' | 'authentication'> {
  return {
    protocol: server.protocol,
    host: server.host,
    port: server.port,
    security: server.security,
    username: server.username,
    authentication: [...server.authentication],
  };
}

/**
 * Tags servers read from a provider file or a document with provenance and trust; the document's
 * OAuth details go on the servers that offer oauth2 (and only those).
 */
export function toCandidates(
  servers: readonly Pick<CandidateServer, 'protocol' | 'host' | 'port' | 'security' | 'username' | 'authentication'>[],
  source: string,
  trusted: boolean,
  oauth2?: OAuth2Details,
): CandidateServer[] {
  return servers.map((server) => ({
    ...documentServerFields(server),
    source,
    trusted,
    ...(oauth2 && (server.authentication as readonly string[]).includes('oauth2') ? { oauth2: { ...oauth2, scopes: [...oauth2.scopes] } } : {}),
  }));
}

/** A way to reach the mailbox that is not IMAP, POP3 or SMTP (JMAP, Exchange); never recommended. */
export interface CandidateAlternative {
  kind: AlternativeKind;
  url: string;
  /** Provenance, as for servers (e.g. `jmap:https://example.com/.well-known/jmap`). */
  source: string;
  trusted: boolean;
}
