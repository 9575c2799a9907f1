/**
 * The shared state a fleet of replicas uses (see README, "Running several replicas"): small
 * interfaces with an in-memory implementation (memory-store.ts) and a Redis one (redis-store.ts).
 * Every method reports an unreachable or slow store as a value (`unavailable`, null, false), never
 * by throwing: callers then take their local path, so a store failure never reaches a client.
 */

/** What a read of the shared cache found. */
export type CacheRead = { status: 'hit'; value: string; ttlMs: number } | { status: 'miss' } | { status: 'unavailable' };

/** Values stored once for the whole fleet, each with its own lifetime. */
export interface SharedCache {
  /** False while the store is known to be down or slow: callers skip it without waiting. */
  readonly available: boolean;
  get(key: string): Promise<CacheRead>;
  /** Stores a value for ttlMs; false when the store could not be written. */
  set(key: string, value: string, ttlMs: number): Promise<boolean>;
}

/** The outcome of trying to take a lock. */
export type LockAttempt = { status: 'acquired'; token: string } | { status: 'held' } | { status: 'unavailable' };

/** Short-lived locks that decide which replica computes a value, with a notice when it is done. */
export interface SharedLock {
  readonly available: boolean;
  /** Takes the lock for ttlMs unless another holder has it (SET NX PX). */
  acquire(key: string, ttlMs: number): Promise<LockAttempt>;
  /**
   * One round trip for a replica that misses: the stored value of `cacheKey` if there is one, else
   * the lock (taken, or held by another replica).
   */
  claim(cacheKey: string, lockKey: string, ttlMs: number): Promise<CacheRead | LockAttempt>;
  /** Extends the lock while its holder still works; false when it was lost (expired or taken). */
  extend(key: string, token: string, ttlMs: number): Promise<boolean>;
  /**
   * Stores the holder's result (when `value` is given), releases the lock if still held by `token`
   * and tells waiting replicas, in one round trip.
   */
  finish(key: string, token: string, value?: { cacheKey: string; text: string; ttlMs: number }): Promise<void>;
  /** Resolves when `key` is finished (a notice), after waitMs, or when the signal fires, whichever is first. */
  waitForFinish(key: string, waitMs: number, signal?: AbortSignal): Promise<void>;
}

/** A count and the time left in its window. */
export interface CounterRead {
  count: number;
  ttlMs: number;
}

/** Fixed-window counters shared by the fleet: the window starts at the first use of a key. */
export interface SharedCounter {
  readonly available: boolean;
  /** Counts one use of `key` in a window of windowMs; null when the store is unavailable. */
  incr(key: string, windowMs: number): Promise<CounterRead | null>;
}

/** Which layer answered a lookup: this replica's memory, the shared store, or neither (a discovery ran). */
export type CacheLayer = 'local' | 'shared' | 'miss';

/**
 * Callbacks for metrics (all optional, called synchronously; they must not throw). Redis state is
 * reported on every change, errors on every failed or timed-out call.
 */
export interface StoreEvents {
  onRedisState?(up: boolean): void;
  onRedisError?(): void;
  onCacheLayer?(layer: CacheLayer): void;
}

/** One store offering every shared part (Redis, or memory for tests and a single process). */
export interface SharedStore extends SharedCache, SharedLock, SharedCounter {
  /** Builds a key in this store's namespace from a kind and an untrusted part (see storeKey). */
  key(kind: string, raw: string): string;
  close(): Promise<void>;
}
