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
      // lru-cache memoises its clock for ttlResolution ms and arms a timer to forget it: at the 1 ms
      // default that is a timer a millisecond under load (npm run bench). An answer living up to
      // 100 ms past a TTL of seconds or more changes nothing. A fake clock (tests) is read on every check.
      ...(options.clock ? { perf: options.clock, ttlResolution: 0 } : { ttlResolution: 100 }),
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
    const flight = this.#flights.get(key) ?? this.#takeOff(key, compute);
    flight.waiters += 1;
    const signal = options.signal;
    if (!signal) {
      try {
        return { value: (await flight.promise).value, cached: false };
      } finally {
        flight.waiters -= 1;
      }
    }
    return this.#waitFor(key, flight, signal);
  }

  /** Starts the one computation for the key; whatever its outcome, the flight ends (a failure is not cached). */
  #takeOff(key: string, compute: (signal: AbortSignal) => Promise<Computed<V>>): Flight<V> {
    const controller = new AbortController();
    const promise = compute(controller.signal).then((computed) => {
      if (computed.ttlMs > 0 && !controller.signal.aborted) this.#lru.set(key, computed.value, { ttl: computed.ttlMs });
      return computed;
    });
    const flight: Flight<V> = { promise, controller, waiters: 0 };
    this.#flights.set(key, flight);
    const land = () => this.#flights.get(key) === flight && this.#flights.delete(key);
    promise.then(land, land);
    return flight;
  }

  /** Waits for a flight on behalf of one caller; a caller that leaves aborts it only if it was the last one waiting. */
  #waitFor(key: string, flight: Flight<V>, signal: AbortSignal): Promise<{ value: V; cached: boolean }> {
    const leave = () => {
      flight.waiters -= 1;
      if (flight.waiters === 0) {
        flight.controller.abort(new Error('every caller left'));
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
      }
    };
    if (signal.aborted) {
      leave();
      return Promise.reject(signal.reason ?? new Error('aborted'));
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        leave();
        reject(signal.reason ?? new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (computed) => {
          signal.removeEventListener('abort', onAbort);
          flight.waiters -= 1;
          resolve({ value: computed.value, cached: false });
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          flight.waiters -= 1;
          reject(error);
        },
      );
    });
  }
}
