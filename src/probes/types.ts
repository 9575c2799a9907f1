import type { Check, Protocol, Security } from '../domain/schemas.js';

/** A server to check live. */
export interface CheckTarget {
  host: string;
  port: number;
  protocol: Protocol;
  security: Security;
}

/** Runs credential-free live checks (implemented in probes/, used by /v1/check and lookup?check=true). */
export interface ServerChecker {
  check(target: CheckTarget, options: { signal?: AbortSignal; fresh?: boolean }): Promise<Check>;
}
