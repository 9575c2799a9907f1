import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { storeKey } from './keys.js';
import type { CacheRead, CounterRead, LockAttempt, SharedStore } from './types.js';

/** Options of the in-memory store. */
export interface MemoryStoreOptions {
  /** Key prefix, like REDIS_PREFIX (default `mailsettings:`). */
  prefix?: string;
  /** Keys kept at once (cache values, locks and counters each), least recently used dropped first. */
  maxKeys?: number;
}

/**
 * The shared store in one process's memory: what several in-process replicas (tests) share, and
 * the reference behaviour of the Redis store. `available = false` simulates an outage: every call
 * then reports the store unavailable, as the Redis store does when Redis is down.
 */
export class MemoryStore implements SharedStore {
  available = true;
  readonly prefix: string;
  readonly #values: LRUCache<string, { text: string }>;
  readonly #locks: LRUCache<string, { token: string }>;
  readonly #counts: LRUCache<string, { count: number }>;
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(options: MemoryStoreOptions = {}) {
    this.prefix = options.prefix ?? 'mailsettings:';
    const max = options.maxKeys ?? 100_000;
    this.#values = new LRUCache({ max, ttlAutopurge: false });
    this.#locks = new LRUCache({ max, ttlAutopurge: false });
    this.#counts = new LRUCache({ max, ttlAutopurge: false, noUpdateTTL: true });
  }

  key(kind: string, raw: string): string {
    return storeKey(this.prefix, kind, raw);
  }

  async get(key: string): Promise<CacheRead> {
    if (!this.available) return { status: 'unavailable' };
    const entry = this.#values.get(key);
    return entry ? { status: 'hit', value: entry.text, ttlMs: this.#values.getRemainingTTL(key) } : { status: 'miss' };
  }

  async set(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (!this.available) return false;
    this.#values.set(key, { text: value }, { ttl: ttlMs });
    return true;
  }

  async acquire(key: string, ttlMs: number): Promise<LockAttempt> {
    if (!this.available) return { status: 'unavailable' };
    if (this.#locks.get(key)) return { status: 'held' };
    const token = randomUUID();
    this.#locks.set(key, { token }, { ttl: ttlMs });
    return { status: 'acquired', token };
  }

  async claim(cacheKey: string, lockKey: string, ttlMs: number): Promise<CacheRead | LockAttempt> {
    const read = await this.get(cacheKey);
    return read.status === 'miss' ? this.acquire(lockKey, ttlMs) : read;
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    if (!this.available || this.#locks.get(key)?.token !== token) return false;
    this.#locks.set(key, { token }, { ttl: ttlMs });
    return true;
  }

  async finish(key: string, token: string, value?: { cacheKey: string; text: string; ttlMs: number }): Promise<void> {
    if (!this.available) return;
    if (value) this.#values.set(value.cacheKey, { text: value.text }, { ttl: value.ttlMs });
    if (this.#locks.get(key)?.token === token) this.#locks.delete(key);
    for (const wake of [...(this.#waiters.get(key) ?? [])]) wake();
  }

  waitForFinish(key: string, waitMs: number, signal?: AbortSignal): Promise<void> {
    return waitForNotice(this.#waiters, key, waitMs, signal);
  }

  async incr(key: string, windowMs: number): Promise<CounterRead | null> {
    if (!this.available) return null;
    const entry = this.#counts.get(key);
    if (!entry) {
      this.#counts.set(key, { count: 1 }, { ttl: windowMs });
      return { count: 1, ttlMs: windowMs };
    }
    entry.count += 1;
    return { count: entry.count, ttlMs: this.#counts.getRemainingTTL(key) };
  }

  async close(): Promise<void> {
    this.#values.clear();
    this.#locks.clear();
    this.#counts.clear();
  }
}

/**
 * Registers a waiter for a finish notice of `key` in `waiters` and resolves on the notice, after
 * waitMs or on abort, whichever comes first; the waiter is always removed again.
 */
export function waitForNotice(waiters: Map<string, Set<() => void>>, key: string, waitMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    let set = waiters.get(key);
    if (!set) {
      set = new Set();
      waiters.set(key, set);
    }
    const mine = set;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      mine.delete(done);
      if (mine.size === 0 && waiters.get(key) === mine) waiters.delete(key);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, waitMs));
    signal?.addEventListener('abort', done, { once: true });
    mine.add(done);
  });
}
