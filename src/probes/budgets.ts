import { LRUCache } from 'lru-cache';
import type { Clock } from '../cache/coalescing-cache.js';
import { addressKey } from '../net/client-key.js';
import type { ConnectBudget } from '../net/connect.js';
import type { SharedCounter } from '../store/types.js';

/** Options of a window counter. */
export interface WindowCounterOptions {
  /** Takes allowed per key per window. */
  max: number;
  windowMs: number;
  clock?: Clock;
  /** Keys remembered at once (least recently used forgotten first). */
  maxKeys?: number;
  /**
   * Counts shared by the fleet (REDIS_URL): `kind` names this limit's keys in the store. While the
   * store is unavailable, takes are counted here in memory instead (the limit then holds per replica).
   */
  shared?: { counter: SharedCounter & { key(kind: string, raw: string): string }; kind: string };
}

/** The outcome of one take: granted, or refused with the time until the key's window ends. */
export type Take = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Fixed-window counters per key, bounded in memory: at most `max` takes per key from the first
 * take of a window until it ends. Counting is synchronous, so concurrent callers cannot overshoot.
 */
export class WindowCounter {
  readonly max: number;
  readonly windowMs: number;
  readonly #counts: LRUCache<string, { count: number }>;
  readonly #shared: WindowCounterOptions['shared'];

  constructor(options: WindowCounterOptions) {
    this.#shared = options.shared;
    this.max = options.max;
    this.windowMs = options.windowMs;
    this.#counts = new LRUCache({
      max: options.maxKeys ?? 100_000,
      ttl: options.windowMs,
      // The window starts at the first take and is not extended by later ones.
      noUpdateTTL: true,
      ...(options.clock ? { perf: options.clock, ttlResolution: 0 } : {}),
    });
  }

  /**
   * Counts one use of `key`, or refuses it when the key's window is used up; a promise only while
   * the count is shared (in memory it is synchronous, so concurrent callers cannot overshoot).
   */
  take(key: string): Take | Promise<Take> {
    const shared = this.#shared;
    if (!shared?.counter.available) return this.#takeLocal(key);
    return shared.counter.incr(shared.counter.key(shared.kind, key), this.windowMs).then((read) => {
      if (read === null) return this.#takeLocal(key);
      return read.count <= this.max ? { ok: true } : { ok: false, retryAfterMs: read.ttlMs };
    });
  }

  #takeLocal(key: string): Take {
    const used = this.#counts.get(key);
    if (!used) {
      this.#counts.set(key, { count: 1 });
      return { ok: true };
    }
    if (used.count >= this.max) return { ok: false, retryAfterMs: Math.max(1, this.#counts.getRemainingTTL(key)) };
    used.count += 1;
    return { ok: true };
  }
}

/**
 * The per-target connection budget (CHECK_TARGET_LIMIT_MAX per window), keyed by the address a
 * socket is about to connect to (see addressKey), never by the name that led there. Security: any
 * number of names can point at one victim address; counting names would multiply the limit.
 */
export class TargetBudget implements ConnectBudget {
  readonly #counter: WindowCounter;

  constructor(options: WindowCounterOptions) {
    this.#counter = new WindowCounter(options);
  }

  take(address: string): boolean | Promise<boolean> {
    const taken = this.#counter.take(addressKey(address));
    return taken instanceof Promise ? taken.then((result) => result.ok) : taken.ok;
  }
}
