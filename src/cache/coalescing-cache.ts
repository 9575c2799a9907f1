import { LRUCache } from 'lru-cache';

/** A clock the cache reads for TTLs; tests pass a fake one. */
export interface Clock {
  now(): number;
}

/** What a computation returns: the value and how long it may be cached (0 = not cached). */
export interface Computed<V> {
  value: V;
  ttlMs: number;
}

/** Options of a coalescing cache. */
export interface CoalescingCacheOptions<V> {
  maxEntries: number;
  maxBytes: number;
  /** Approximate size of a value in bytes, for the byte bound. */
  sizeOf: (value: V) => number;
  clock?: Clock;
}

interface Flight<V> {
  promise: Promise<Computed<V>>;
  controller: AbortController;
  waiters: number;
}

/**
 * An LRU cache bounded by entries and bytes, with a TTL per entry, in which concurrent requests for
 * the same key share one computation. The shared computation is aborted only when every caller that
 * waits for it has gone (a client disconnect must not cancel other clients' answer). lru-cache's own
 * `fetch` coalesces too, but aborts the shared fetch when any one caller's signal fires.
 */
export class CoalescingCache<V extends object> {
  readonly #lru: LRUCache<string, V>;
  readonly #flights = new Map<string, Flight<V>>();

  constructor(options: CoalescingCacheOptions<V>) {
    this.#lru = new LRUCache<string, V>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (value) => Math.max(1, options.sizeOf(value)),
      ttlAutopurge: false,
      // A fake clock (tests) is read on every check, not through lru-cache's 1 ms now() memo.
      ...(options.clock ? { perf: options.clock, ttlResolution: 0 } : {}),
    });
  }

  /** Number of computations currently running (for tests and metrics). */
  get inFlight(): number {
    return this.#flights.size;
  }

  /** Whether a computation for the key is running now. */
  isComputing(key: string): boolean {
    return this.#flights.has(key);
  }

  get size(): number {
    return this.#lru.size;
  }

  peek(key: string): V | undefined {
    return this.#lru.get(key);
  }

  delete(key: string): void {
    this.#lru.delete(key);
  }

  clear(): void {
    this.#lru.clear();
  }

  /**
   * Returns the cached value, or joins (or starts) the one computation for the key.
   * `fresh` skips the cached value but still shares a running computation.
   */
  async get(
    key: string,
    compute: (signal: AbortSignal) => Promise<Computed<V>>,
    options: { signal?: AbortSignal; fresh?: boolean } = {},
  ): Promise<{ value: V; cached: boolean }> {
    if (!options.fresh) {
      const hit = this.#lru.get(key);
      if (hit !== undefined) return { value: hit, cached: true };
    }
    let flight = this.#flights.get(key);
    if (!flight) {
      const controller = new AbortController();
      const promise = compute(controller.signal).then((computed) => {
        if (computed.ttlMs > 0 && !controller.signal.aborted) this.#lru.set(key, computed.value, { ttl: computed.ttlMs });
        return computed;
      });
      const created: Flight<V> = { promise, controller, waiters: 0 };
      flight = created;
      this.#flights.set(key, created);
      // Whatever the outcome, the flight ends; a failure is not cached.
      promise.then(
        () => this.#flights.get(key) === created && this.#flights.delete(key),
        () => this.#flights.get(key) === created && this.#flights.delete(key),
      );
    }
    const current = flight;
    current.waiters += 1;
    const leave = () => {
      current.waiters -= 1;
      if (current.waiters === 0) {
        current.controller.abort(new Error('every caller left'));
        if (this.#flights.get(key) === current) this.#flights.delete(key);
      }
    };
    const signal = options.signal;
    if (!signal) {
      try {
        return { value: (await current.promise).value, cached: false };
      } finally {
        current.waiters -= 1;
      }
    }
    if (signal.aborted) {
      leave();
      throw signal.reason ?? new Error('aborted');
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        leave();
        reject(signal.reason ?? new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      current.promise.then(
        (computed) => {
          signal.removeEventListener('abort', onAbort);
          current.waiters -= 1;
          resolve({ value: computed.value, cached: false });
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          current.waiters -= 1;
          reject(error);
        },
      );
    });
  }
}
