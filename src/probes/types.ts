import type { Check, Protocol, Security } from '../api/schemas.js';
import type { Network } from '../net/connect.js';

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

/**
 * Runs one uncached probe (guessing) through the same outbound budgets as live checks: the
 * per-address limit and the service-wide concurrency slots.
 */
export interface Prober {
  probe(target: CheckTarget, options: { signal: AbortSignal; timeoutMs: number; network?: Network }): Promise<Check>;
}
