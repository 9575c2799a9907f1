import type { Protocol, Security } from '../api/schemas.js';
import type { CandidateServer } from './candidate.js';

/** IMAP is recommended over POP3 (mail stays on the server); SMTP is listed apart. */
export const PROTOCOL_ORDER: Record<Protocol, number> = { imap: 0, pop3: 1, smtp: 2 };
/** RFC 8314: implicit TLS is preferred over STARTTLS, and both over plaintext. */
export const SECURITY_ORDER: Record<Security, number> = { tls: 0, starttls: 1, none: 2 };

/**
 * Servers in the order answers show one source's servers: IMAP before POP3 (then SMTP), implicit TLS
 * before STARTTLS before plaintext, otherwise the given order (the sort is stable). A new array.
 */
export function byProtocolAndSecurity<T extends { protocol: Protocol; security: Security }>(servers: readonly T[]): T[] {
  return [...servers].sort(
    (a, b) => PROTOCOL_ORDER[a.protocol] - PROTOCOL_ORDER[b.protocol] || SECURITY_ORDER[a.security] - SECURITY_ORDER[b.security],
  );
}

/** Identity of a server across sources: the same endpoint found twice is one server. */
export function serverKey(server: Pick<CandidateServer, 'protocol' | 'host' | 'port' | 'security'>): string {
  return `${server.protocol}|${server.host.toLowerCase()}|${server.port}|${server.security}`;
}

/**
 * Deduplicates and orders servers: IMAP before POP3; within a protocol every encrypted server before
 * any plaintext one (so the first server, the recommended one, is encrypted whenever an encrypted
 * server exists: plaintext is never recommended); then by the rank of the source that found it (a
 * better source's word wins); within a source implicit TLS before STARTTLS (RFC 8314). A server
 * found by several sources keeps the best source's provenance, and counts as trusted if any
 * trusted source reported it.
 */
export function rankServers<E = undefined>(candidates: { server: CandidateServer; priority: number; entry?: E }[]): {
  incoming: CandidateServer[];
  outgoing: CandidateServer[];
  /** The `entry` each ranked server was taken from (the candidate whose provenance it keeps). */
  origin: Map<CandidateServer, E>;
} {
  const byKey = new Map<string, { server: CandidateServer; priority: number; index: number; entry: E | undefined }>();
  candidates.forEach(({ server, priority, entry }, index) => {
    const key = serverKey(server);
    const existing = byKey.get(key);
    if (!existing) {
      byKey.set(key, { server: { ...server }, priority, index, entry });
    } else if (server.trusted && !existing.server.trusted) {
      existing.server.trusted = true;
      if (priority < existing.priority) Object.assign(existing, { server: { ...server }, priority, entry });
    }
  });
  const sorted = [...byKey.values()].sort(
    (a, b) =>
      PROTOCOL_ORDER[a.server.protocol] - PROTOCOL_ORDER[b.server.protocol] ||
      Number(a.server.security === 'none') - Number(b.server.security === 'none') ||
      a.priority - b.priority ||
      SECURITY_ORDER[a.server.security] - SECURITY_ORDER[b.server.security] ||
      a.index - b.index,
  );
  const servers = sorted.map((entry) => entry.server);
  const origin = new Map<CandidateServer, E>();
  for (const entry of sorted) if (entry.entry !== undefined) origin.set(entry.server, entry.entry);
  return {
    incoming: servers.filter((server) => server.protocol !== 'smtp'),
    outgoing: servers.filter((server) => server.protocol === 'smtp'),
    origin,
  };
}
