import type { Log as Logger } from '../domain/log.js';
import type { Authentication, Protocol, Security, SourceReport } from '../domain/schemas.js';
import type { LookupSubject } from '../domain/input.js';
import type { Provider } from '../provider-db/schema.js';

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
}

/** Tags servers read from a provider file or an autoconfig document with provenance and trust. */
export function toCandidates(
  servers: readonly Pick<CandidateServer, 'protocol' | 'host' | 'port' | 'security' | 'username' | 'authentication'>[],
  source: string,
  trusted: boolean,
): CandidateServer[] {
  return servers.map((server) => ({
    protocol: server.protocol,
    host: server.host,
    port: server.port,
    security: server.security,
    username: server.username,
    authentication: [...server.authentication],
    source,
    trusted,
  }));
}

/** What one source ended with. Failures are values; sources throw only for bugs. */
export type SourceResult =
  | {
      outcome: 'found';
      servers: CandidateServer[];
      provider?: Provider;
      /** How long this answer may be cached (e.g. from DNS TTLs); the cache caps it. */
      ttlS?: number;
      detail?: string;
      url?: string;
    }
  | { outcome: 'not-found' | 'skipped' | 'blocked' | 'timeout'; detail?: string; url?: string; ttlS?: number }
  | { outcome: 'error'; error: string; detail?: string; url?: string };

/** What a source gets for one lookup. */
export interface SourceContext {
  subject: LookupSubject;
  /** Aborted when the deadline passes, a higher-ranked source answered, or every client left. */
  signal: AbortSignal;
  log: Logger;
}

/** One way of finding settings. Dependencies are bound when the source is created. */
export interface Source {
  name: string;
  /** Lower is better: the resolver answers once no better-ranked source is pending. */
  priority: number;
  /** Run only when every other source found nothing (live guessing). */
  fallback?: boolean;
  /** Answers from memory without touching the network: runs before the network sources start. */
  local?: boolean;
  lookup(context: SourceContext): Promise<SourceResult>;
}

/** A source's result with its timing, as the resolver reports it. */
export interface SettledSource {
  source: Source;
  result: SourceResult;
  report: SourceReport;
}
