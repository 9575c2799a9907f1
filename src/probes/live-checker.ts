import { CoalescingCache, type Clock } from '../cache/coalescing-cache.js';
import { checkSchema, type Check, type CheckErrorCode } from '../api/schemas.js';
import { NO_METRICS, type Metrics } from '../logging/metrics.js';
import type { Network } from '../net/connect.js';
import { SharedComputation } from '../store/shared-compute.js';
import type { SharedStore, StoreEvents } from '../store/types.js';
import { TargetBudget } from './budgets.js';
import { checkServer, emptyCheck } from './check-server.js';
import { deadline } from './deadline.js';
import type { CheckTarget, Prober, ServerChecker } from './types.js';

/** Limits and dependencies of the live checker. */
export interface LiveCheckerOptions {
  network: Network;
  /** Time limit of one check (CHECK_TIMEOUT_MS). */
  timeoutMs: number;
  /** How long a result is reused (CHECK_CACHE_TTL_S); 0 disables the cache. */
  cacheTtlS: number;
  /** Checks running at once, service-wide (CHECK_CONCURRENCY). */
  concurrency: number;
  /** Connections per target address (IPv4 /32, IPv6 /64) per window (CHECK_TARGET_LIMIT_MAX). */
  targetLimitMax: number;
  targetWindowMs: number;
  /** The per-address budget to count against (default: one made from targetLimitMax and targetWindowMs). */
  targetBudget?: TargetBudget;
  /** Longest wait for a free slot before answering `busy` (default: timeoutMs). */
  queueTimeoutMs?: number;
  /** Extra trusted CAs (tests). */
  extraCa?: readonly string[];
  clock?: Clock;
  maxCacheEntries?: number;
  /** Load shedding: true while the process is overloaded; new (uncached) checks are then refused as `busy`. */
  underPressure?: () => boolean;
  /** Where each check's outcome is reported. */
  metrics?: Metrics;
  /**
   * The fleet's store (REDIS_URL): check results are shared (one replica checks a target while the
   * others wait for its result) and kept locally at most localTtlMs; the per-target budget is
   * shared too unless `targetBudget` is given.
   */
  shared?: { store: SharedStore; localTtlMs: number; events?: StoreEvents };
}

/** Security: a stored check is used only when it parses as one; it is then marked as cached. */
function decodeCheck(text: string): Check | undefined {
  try {
    const parsed = checkSchema.safeParse(JSON.parse(text));
    return parsed.success ? { ...parsed.data, cached: true } : undefined;
  } catch {
    return undefined;
  }
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
 * The service's ServerChecker and guessing's Prober: results cached briefly and shared by
 * concurrent callers (checks only), a global concurrency limit, a per-target-address connection
 * limit, and a time limit per check. Security: the target is chosen by untrusted input; the limits
 * keep this from becoming a port scanner or a flood source, and every outbound mail-protocol
 * connection the service makes goes through them.
 */
export class LiveChecker implements ServerChecker, Prober {
  readonly #options: LiveCheckerOptions;
  readonly #cache: CoalescingCache<Check>;
  readonly #slots: Slots;
  readonly #targets: TargetBudget;
  readonly #shared: SharedComputation<Check> | null;

  constructor(options: LiveCheckerOptions) {
    this.#options = options;
    this.#cache = new CoalescingCache<Check>({
      maxEntries: options.maxCacheEntries ?? 10_000,
      maxBytes: 32 * 1024 ** 2,
      sizeOf: (check) => JSON.stringify(check).length,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.#slots = new Slots(options.concurrency);
    const shared = options.shared;
    this.#targets =
      options.targetBudget ??
      new TargetBudget({
        max: options.targetLimitMax,
        windowMs: options.targetWindowMs,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(shared ? { shared: { counter: shared.store, kind: 'target' } } : {}),
      });
    this.#shared = shared
      ? new SharedComputation<Check>({
          store: shared.store,
          kind: 'check-v1',
          encode: (check) => JSON.stringify(check),
          decode: decodeCheck,
          localTtlMs: shared.localTtlMs,
          ...(shared.events ? { events: shared.events } : {}),
        })
      : null;
  }

  async check(target: CheckTarget, options: { signal?: AbortSignal; fresh?: boolean } = {}): Promise<Check> {
    const check = await this.#checkCached(target, options);
    (this.#options.metrics ?? NO_METRICS).onCheck(check.error?.code ?? 'ok');
    return check;
  }

  async #checkCached(target: CheckTarget, options: { signal?: AbortSignal; fresh?: boolean }): Promise<Check> {
    const host = target.host.toLowerCase();
    const key = `${target.protocol}|${host}|${target.port}|${target.security}`;
    try {
      const run = (signal: AbortSignal) => this.#run({ ...target, host }, signal);
      const shared = this.#shared;
      const waitMs = this.#options.timeoutMs + (this.#options.queueTimeoutMs ?? this.#options.timeoutMs);
      const compute = shared ? (signal: AbortSignal) => shared.run(key, run, { signal, fresh: options.fresh ?? false, waitMs }) : run;
      const { value, cached } = await this.#cache.get(key, compute, {
        ...(options.signal ? { signal: options.signal } : {}),
        fresh: options.fresh ?? false,
      });
      return cached ? { ...value, cached: true } : value;
    } catch {
      // Only an aborted caller gets here (the computation itself never throws).
      return refusal(target, 'timeout', 'the check was cancelled');
    }
  }

  /** One uncached probe with its own time limit, through the same slots and per-address budget as checks. */
  async probe(target: CheckTarget, options: { signal: AbortSignal; timeoutMs: number; network?: Network }): Promise<Check> {
    return this.#limited(target, options.signal, options.timeoutMs, options.timeoutMs, options.network ?? this.#options.network);
  }

  async #run(target: CheckTarget, signal: AbortSignal): Promise<{ value: Check; ttlMs: number }> {
    const { timeoutMs, queueTimeoutMs, network } = this.#options;
    // Load shedding: a cached result above still answers; a new connection waits until the load eases.
    if (this.#options.underPressure?.()) {
      (this.#options.metrics ?? NO_METRICS).onShed('check');
      return { value: refusal(target, 'busy', 'the service is overloaded right now; try again shortly'), ttlMs: 0 };
    }
    const check = await this.#limited(target, signal, timeoutMs, queueTimeoutMs ?? timeoutMs, network);
    // Refusals are not cached: the address's budget or a slot may free up before the TTL ends.
    const refused = check.error?.code === 'rate_limited' || check.error?.code === 'busy';
    return { value: check, ttlMs: refused ? 0 : this.#options.cacheTtlS * 1000 };
  }

  /** Waits for a slot, then checks; the per-address budget is taken in the connect step (Network.connect). */
  async #limited(target: CheckTarget, signal: AbortSignal, timeoutMs: number, queueTimeoutMs: number, network: Network): Promise<Check> {
    const waitLimit = deadline(queueTimeoutMs, signal);
    const acquired = await this.#slots.acquire(waitLimit.signal);
    waitLimit.dispose();
    if (!acquired) return refusal(target, 'busy', 'too many live checks are running; try again shortly');
    try {
      return await checkServer(target, {
        network,
        timeoutMs,
        signal,
        budget: this.#targets,
        ...(this.#options.extraCa ? { extraCa: this.#options.extraCa } : {}),
      });
    } finally {
      this.#slots.release();
    }
  }
}

/** A check that was not run, with the reason. */
export function refusal(target: CheckTarget, code: CheckErrorCode, message: string): Check {
  return { ...emptyCheck(target), error: { code, message } };
}
