import type { Computed } from '../cache/coalescing-cache.js';
import type { Discovery } from '../resolver/discoverer.js';
import { SharedComputation } from '../store/shared-compute.js';
import type { SharedStore, StoreEvents } from '../store/types.js';

/** Options of the fleet-wide discovery cache. */
export interface SharedDiscoveriesOptions {
  store: SharedStore;
  /** How long a replica keeps a discovery in its own cache (REDIS_LOCAL_TTL_S), in ms. */
  localTtlMs: number;
  /** Longest wait for another replica's discovery (LOOKUP_TIMEOUT_MS): past it, this replica discovers itself. */
  waitMs: number;
  /** True when the provider database answers the domain from memory: nothing to share. */
  answersOffline?: (domain: string) => boolean;
  events?: StoreEvents;
  lockTtlMs?: number;
}

/** Stored discoveries carry their format in the key, so replicas of another version never read them. */
const KIND = 'lookup-v1';

/** Security: a stored text is used only when it is shaped like a discovery (else it is a miss). */
function decodeDiscovery(text: string): Discovery | undefined {
  try {
    const value = JSON.parse(text) as Partial<Discovery> | null;
    if (typeof value !== 'object' || value === null || typeof value.found !== 'boolean' || typeof value.degraded !== 'boolean') return undefined;
    const lists = [value.incoming, value.outgoing, value.alternatives, value.instructions, value.warnings, value.sources];
    if (!lists.every(Array.isArray) || (value.provider !== null && typeof value.provider !== 'object')) return undefined;
    if (value.ttlS !== undefined && typeof value.ttlS !== 'number') return undefined;
    return value as Discovery;
  } catch {
    return undefined;
  }
}

/**
 * Discoveries shared by the fleet (REDIS_URL): stored once with their TTL, discovered by one replica
 * at a time; this replica's CoalescingCache stays in front with a short TTL. Domains the provider
 * database answers are not shared (they cost nothing to answer again).
 */
export class SharedDiscoveries {
  readonly #computation: SharedComputation<Discovery>;
  readonly #options: SharedDiscoveriesOptions;
  /** Discoveries read from the store: their answers say `cached: true`. */
  readonly #fromStore = new WeakSet<Discovery>();

  constructor(options: SharedDiscoveriesOptions) {
    this.#options = options;
    this.#computation = new SharedComputation<Discovery>({
      store: options.store,
      kind: KIND,
      encode: (discovery) => JSON.stringify(discovery),
      decode: decodeDiscovery,
      localTtlMs: options.localTtlMs,
      ...(options.lockTtlMs ? { lockTtlMs: options.lockTtlMs } : {}),
      ...(options.events ? { events: options.events } : {}),
    });
  }

  /** The discovery of `domain` from the fleet, or from `discover` run here (once across the fleet). */
  async get(domain: string, discover: (signal: AbortSignal) => Promise<Computed<Discovery>>, signal: AbortSignal, fresh?: boolean): Promise<Computed<Discovery>> {
    if (this.#options.answersOffline?.(domain)) {
      this.#options.events?.onCacheLayer?.('miss');
      return discover(signal);
    }
    const result = await this.#computation.run(domain, discover, { signal, fresh: fresh === true, waitMs: this.#options.waitMs });
    if (result.layer === 'shared') this.#fromStore.add(result.value);
    return { value: result.value, ttlMs: result.ttlMs };
  }

  /** Whether this discovery was read from the store rather than made here. */
  fromStore(discovery: Discovery): boolean {
    return this.#fromStore.has(discovery);
  }
}
