import type { Computed } from '../cache/coalescing-cache.js';
import type { CacheLayer, SharedCache, SharedLock, StoreEvents } from './types.js';

/** Options of a fleet-wide computation. */
export interface SharedComputationOptions<V> {
  store: SharedCache & SharedLock & { key(kind: string, raw: string): string };
  /** Key namespace of the values (`lookup`, `check`); the lock lives under `<kind>-lock`. */
  kind: string;
  encode(value: V): string;
  /** Security: the text comes from the store; anything not shaped like a value is undefined (a miss). */
  decode(text: string): V | undefined;
  /** Longest time a value may stay in a replica's own cache in front of the store (REDIS_LOCAL_TTL_S). */
  localTtlMs: number;
  /** Lock lifetime, renewed every third of it while the holder computes, so a dead holder's lock lapses within it. */
  lockTtlMs?: number;
  /** Longest wait between two looks at the store while another replica computes (default a quarter of lockTtlMs). */
  pollMs?: number;
  events?: StoreEvents;
}

/** How one run ended: the value, its lifetime for the local cache, and which layer gave it. */
export interface SharedComputed<V> extends Computed<V> {
  layer: CacheLayer;
}

const DEFAULT_LOCK_TTL_MS = 2_000;

/**
 * A value computed once for the whole fleet: a replica that misses looks in the shared store,
 * then takes a short lock (SET NX PX) and computes, while the others wait for its finish notice
 * (polling at least every pollMs in case a notice is lost) and read the result. The lock is renewed
 * while its holder works, so a holder that dies blocks the key for at most lockTtlMs; a waiter never
 * waits past its own `waitMs` (the lookup deadline): it then computes on its own. Whenever the store
 * is unavailable the value is computed locally, as a single process would.
 */
export class SharedComputation<V> {
  readonly #options: SharedComputationOptions<V>;
  readonly #lockTtlMs: number;

  constructor(options: SharedComputationOptions<V>) {
    this.#options = options;
    this.#lockTtlMs = options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  }

  /**
   * Returns the shared value for `raw`, or computes it (once across the fleet). `fresh` skips a
   * stored value but still joins a computation under way elsewhere (its result is fresh too).
   */
  async run(
    raw: string,
    compute: (signal: AbortSignal) => Promise<Computed<V>>,
    options: { signal: AbortSignal; fresh?: boolean; waitMs: number },
  ): Promise<SharedComputed<V>> {
    const { store, kind } = this.#options;
    const cacheKey = store.key(kind, raw);
    const lockKey = store.key(`${kind}-lock`, raw);
    const until = performance.now() + options.waitMs;
    // fresh: the first look skips the stored value; after a wait, what is stored is a fresh result.
    let skipRead = options.fresh === true;
    for (;;) {
      // One round trip: the stored value if any, else the lock.
      let attempt = skipRead ? await store.acquire(lockKey, this.#lockTtlMs) : await store.claim(cacheKey, lockKey, this.#lockTtlMs);
      skipRead = false;
      if (attempt.status === 'hit') {
        const value = this.#options.decode(attempt.value);
        if (value !== undefined) return this.#done({ value, ttlMs: Math.min(attempt.ttlMs, this.#options.localTtlMs), layer: 'shared' });
        // Not readable (another version's format, or damaged): computed again, and replaced.
        attempt = await store.acquire(lockKey, this.#lockTtlMs);
      }
      if (attempt.status === 'unavailable' || attempt.status === 'miss') return this.#local(compute, options.signal);
      if (attempt.status === 'acquired') return this.#hold(lockKey, cacheKey, attempt.token, compute, options.signal);
      const left = until - performance.now();
      // The holder took longer than our own deadline (or died without its lock lapsing yet): compute here.
      if (left <= 0) return this.#local(compute, options.signal);
      // Woken by the holder's finish notice; the poll only covers a lost notice or a dead holder.
      await store.waitForFinish(lockKey, Math.min(left, this.#options.pollMs ?? this.#lockTtlMs / 4), options.signal);
      options.signal.throwIfAborted();
    }
  }

  async #local(compute: (signal: AbortSignal) => Promise<Computed<V>>, signal: AbortSignal): Promise<SharedComputed<V>> {
    const computed = await compute(signal);
    // Kept locally only briefly, so sharing resumes soon once the store is back.
    return this.#done({ value: computed.value, ttlMs: Math.min(computed.ttlMs, this.#options.localTtlMs), layer: 'miss' });
  }

  /** Computes as the lock holder: renews the lock meanwhile, then stores the result, releases and announces it. */
  async #hold(
    lockKey: string,
    cacheKey: string,
    token: string,
    compute: (signal: AbortSignal) => Promise<Computed<V>>,
    signal: AbortSignal,
  ): Promise<SharedComputed<V>> {
    const { store } = this.#options;
    const renew = setInterval(() => void store.extend(lockKey, token, this.#lockTtlMs), Math.max(10, Math.floor(this.#lockTtlMs / 3)));
    renew.unref();
    let stored: { cacheKey: string; text: string; ttlMs: number } | undefined;
    try {
      const computed = await compute(signal);
      if (computed.ttlMs > 0 && !signal.aborted) stored = { cacheKey, text: this.#options.encode(computed.value), ttlMs: computed.ttlMs };
      return this.#done({ value: computed.value, ttlMs: Math.min(computed.ttlMs, this.#options.localTtlMs), layer: 'miss' });
    } finally {
      clearInterval(renew);
      // Also when the computation failed or was abandoned: waiters then look again at once (and one takes over).
      await store.finish(lockKey, token, stored);
    }
  }

  #done(result: SharedComputed<V>): SharedComputed<V> {
    this.#options.events?.onCacheLayer?.(result.layer);
    return result;
  }
}
