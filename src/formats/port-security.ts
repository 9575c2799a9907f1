import type { Protocol, Security } from '../api/schemas.js';

/**
 * RFC 8314 §3 and §5.1: these ports are implicit TLS (993 IMAPS, 995 POP3S, 465 submissions), and
 * these start in cleartext (143 IMAP, 110 POP3, 587 submission), so a mail client connecting to one
 * of them speaks the matching mode whatever a document says.
 */
const IMPLICIT_TLS_PORTS: ReadonlySet<number> = new Set([465, 993, 995]);
const CLEARTEXT_START_PORTS: ReadonlySet<number> = new Set([110, 143, 587]);

/** Why a port and security mode cannot both be right, or undefined when they can. */
export function portSecurityConflict(server: { protocol: Protocol; port: number; security: Security }): string | undefined {
  if (IMPLICIT_TLS_PORTS.has(server.port) && server.security !== 'tls') {
    return `${server.protocol} on port ${server.port} is implicit TLS, not ${server.security}`;
  }
  if (CLEARTEXT_START_PORTS.has(server.port) && server.security === 'tls') {
    return `${server.protocol} on port ${server.port} starts in cleartext (STARTTLS), not implicit TLS`;
  }
  return undefined;
}

/** The security a client uses on a well-known port (RFC 8314 §5.1), or undefined for other ports. */
export function securityOfPort(port: number): Security | undefined {
  if (IMPLICIT_TLS_PORTS.has(port)) return 'tls';
  return undefined;
}
