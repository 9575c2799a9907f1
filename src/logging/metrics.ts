import type { CheckErrorCode, SourceOutcome } from '../api/schemas.js';

/** Which cache layer answered a read: this process's LRU, the shared store (Redis/Valkey), or neither. */
export type CacheLayer = 'local' | 'shared' | 'miss';

/** What load shedding refused: a new discovery (cache-missing lookup) or a new live check. */
export type ShedKind = 'lookup' | 'check';

/** Outcome of one live check: `ok`, or its stable error code. */
export type CheckOutcome = 'ok' | CheckErrorCode;

/**
 * What the core reports for metrics. The core never imports a metrics library: the HTTP edge
 * (src/plugins/metrics.ts) implements this with prom-client, and everything else gets NO_METRICS.
 * Security: every argument is from a closed set (source names are fixed in code, outcomes and
 * error codes are enums), never request input, so no caller can grow the number of label values.
 */
export interface Metrics {
  /** One source of a discovery settled, with its outcome and how long it ran (skipped sources included). */
  onSource(source: string, outcome: SourceOutcome, ms: number): void;
  /** One live check answered (cached results and refusals included). */
  onCheck(outcome: CheckOutcome): void;
  /** Load shedding refused new work because the process is overloaded. */
  onShed(kind: ShedKind): void;
  /** A cache read was answered by this layer (raised by the cache store). */
  onCacheLayer(layer: CacheLayer): void;
  /** The shared store's connection went up or down. */
  onRedisState(up: boolean): void;
  /** A shared-store command failed (the service falls back to its local cache). */
  onRedisError(): void;
}

const ignore = (): void => {};

/** Metrics that record nothing: the default of every core dependency, and the service with METRICS=false. */
export const NO_METRICS: Metrics = {
  onSource: ignore,
  onCheck: ignore,
  onShed: ignore,
  onCacheLayer: ignore,
  onRedisState: ignore,
  onRedisError: ignore,
};
