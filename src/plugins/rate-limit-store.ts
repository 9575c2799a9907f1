import { createRequire } from 'node:module';
import type { FastifyRateLimitOptions, FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { SharedCounter } from '../store/types.js';

type Counter = SharedCounter & { key(kind: string, raw: string): string };
type LocalStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, cache?: number) => FastifyRateLimitStore;

// The plugin's own in-memory store (not exported by name): what a single process uses, and the
// fallback while the shared counter is unavailable.
const LocalStore = createRequire(import.meta.url)('@fastify/rate-limit/store/LocalStore.js') as LocalStoreCtor;

/**
 * A @fastify/rate-limit store whose counts are the fleet's (REDIS_URL): each route's counts live in
 * the shared counter under `<kind>-<method><url>`, keyed by the client key. Why not the plugin's own
 * Redis store: on a Redis error it either fails the request (a 500) or, with skipOnError, stops
 * limiting; this one counts in the plugin's in-memory store meanwhile, so the limit still holds per
 * replica and no request fails because of Redis.
 */
export function sharedRateLimitStore(counter: Counter, kind = 'rate'): FastifyRateLimitStoreCtor {
  class SharedRateLimitStore implements FastifyRateLimitStore {
    readonly #local: FastifyRateLimitStore;
    readonly #kind: string;

    constructor(options: FastifyRateLimitOptions, routeKind = kind) {
      const flags = options as { continueExceeding?: boolean; exponentialBackoff?: boolean };
      this.#local = new LocalStore(flags.continueExceeding ?? false, flags.exponentialBackoff ?? false);
      this.#kind = routeKind;
    }

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void {
      if (!counter.available) return this.#local.incr(key, callback, timeWindow, max);
      void counter.incr(counter.key(this.#kind, key), timeWindow).then((read) => {
        if (read === null) this.#local.incr(key, callback, timeWindow, max);
        else callback(null, { current: read.count, ttl: read.ttlMs });
      });
    }

    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      const route = routeOptions as typeof routeOptions & { routeInfo?: { method?: string; url?: string } };
      const name = `${kind}-${String(route.routeInfo?.method ?? route.method)}${route.routeInfo?.url ?? route.path}`;
      return new SharedRateLimitStore(routeOptions as FastifyRateLimitOptions, name);
    }
  }
  return SharedRateLimitStore;
}
