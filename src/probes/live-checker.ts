import { LRUCache } from 'lru-cache';
import { CoalescingCache, type Clock } from '../cache/coalescing-cache.js';
import type { Check, CheckErrorCode } from '../domain/schemas.js';
import type { Network } from '../net/connect.js';
import { checkServer, emptyCheck } from './check-server.js';
import { deadline } from './deadline.js';
import type { CheckTarget, ServerChecker } from './types.js';

/** Limits and dependencies of the live checker. */
export interface LiveCheckerOptions {
  network: Network;
  /** Time limit of one check (CHECK_TIMEOUT_MS). */
  timeoutMs: number;
  /** How long a result is reused (CHECK_CACHE_TTL_S); 0 disables the cache. */
  cacheTtlS: number;
  /** Checks running at once, service-wide (CHECK_CONCURRENCY). */
  concurrency: number;
  /** Checks per target host per window (CHECK_TARGET_LIMIT_MAX). */
  targetLimitMax: number;
  targetWindowMs: number;
  /** Longest wait for a free slot before answering `busy` (default: timeoutMs). */
  queueTimeoutMs?: number;
  /** Extra trusted CAs (tests). */
  extraCa?: readonly string[];
  clock?: Clock;
  maxCacheEntries?: number;
}

/** A counting semaphore whose waiters give up when their signal fires. */
class Slots {
  #free: number;
  readonly #queue: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  acquire(signal: AbortSignal): Promise<boolean> {
    if (this.#free > 0) {
      this.#free -= 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      const onAbort = () => {
        const index = this.#queue.indexOf(grant);
        if (index >= 0) this.#queue.splice(index, 1);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(grant);
    });
  }

  release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#free += 1;
  }
}

/**
 * The service's ServerChecker: results cached briefly and shared by concurrent callers, a global
 * concurrency limit, a per-target-host limit, and a time limit per check. Security: the target is
 * chosen by untrusted input; the limits keep this from becoming a port scanner or a flood source.
 */
export class LiveChecker implements ServerChecker {
  readonly #options: LiveCheckerOptions;
  readonly #cache: CoalescingCache<Check>;
  readonly #slots: Slots;
  readonly #perTarget: LRUCache<string, { count: number }>;

  constructor(options: LiveCheckerOptions) {
    this.#options = options;
    this.#cache = new CoalescingCache<Check>({
      maxEntries: options.maxCacheEntries ?? 10_000,
      maxBytes: 32 * 1024 ** 2,
      sizeOf: (check) => JSON.stringify(check).length,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.#slots = new Slots(options.concurrency);
    this.#perTarget = new LRUCache({ max: 100_000, ttl: options.targetWindowMs, noUpdateTTL: true, ...(options.clock ? { perf: options.clock, ttlResolution: 0 } : {}) });
  }

  async check(target: CheckTarget, options: { signal?: AbortSignal; fresh?: boolean } = {}): Promise<Check> {
    const host = target.host.toLowerCase();
    const key = `${target.protocol}|${host}|${target.port}|${target.security}`;
    try {
      const { value, cached } = await this.#cache.get(key, (signal) => this.#run({ ...target, host }, signal), {
        ...(options.signal ? { signal: options.signal } : {}),
        fresh: options.fresh ?? false,
      });
      return cached ? { ...value, cached: true } : value;
    } catch {
      // Only an aborted caller gets here (the computation itself never throws).
      return refusal(target, 'timeout', 'the check was cancelled');
    }
  }

  async #run(target: CheckTarget, signal: AbortSignal): Promise<{ value: Check; ttlMs: number }> {
    const ttlMs = this.#options.cacheTtlS * 1000;
    const used = this.#perTarget.get(target.host);
    if (used && used.count >= this.#options.targetLimitMax) {
      // Not cached: the limit lifts when the window ends.
      return { value: refusal(target, 'rate_limited', `too many checks of ${target.host}; try again later`), ttlMs: 0 };
    }
    // Counted before queueing, so checks waiting for a slot cannot overshoot the limit.
    if (used) used.count += 1;
    else this.#perTarget.set(target.host, { count: 1 });
    const waitLimit = deadline(this.#options.queueTimeoutMs ?? this.#options.timeoutMs, signal);
    const acquired = await this.#slots.acquire(waitLimit.signal);
    waitLimit.dispose();
    if (!acquired) {
      return { value: refusal(target, 'busy', 'too many live checks are running; try again shortly'), ttlMs: 0 };
    }
    try {
      const check = await checkServer(target, {
        network: this.#options.network,
        timeoutMs: this.#options.timeoutMs,
        signal,
        ...(this.#options.extraCa ? { extraCa: this.#options.extraCa } : {}),
      });
      return { value: check, ttlMs };
    } finally {
      this.#slots.release();
    }
  }
}

/** A check that was not run, with the reason. */
export function refusal(target: CheckTarget, code: CheckErrorCode, message: string): Check {
  return { ...emptyCheck(target), error: { code, message } };
}
