import type { Config } from './config/env.js';
import type { Log } from './logging/log.js';
import { SharedDiscoveries } from './lookup/shared-discoveries.js';
import type { LiveCheckerOptions } from './probes/live-checker.js';
import { RedisStore } from './store/redis-store.js';
import type { SharedStore, StoreEvents } from './store/types.js';

/** The fleet's store of one app, and whether the app opened it (and so closes it). */
export interface SharedState {
  store: SharedStore;
  events?: StoreEvents;
  owned: boolean;
  localTtlMs: number;
}

/** Longest wait at start-up for Redis, so replicas started together share from their first request. */
const STARTUP_WAIT_MS = 2_000;

/**
 * The shared store: the one a caller gives (tests: a MemoryStore shared by several apps), else
 * Redis when REDIS_URL is set, else none (a single process, exactly as without a fleet). Start-up
 * never fails because Redis is down: the replica then answers from its own state until it is up.
 */
export async function connectSharedState(config: Config, log: Log, given: { store?: SharedStore; events?: StoreEvents }): Promise<SharedState | null> {
  const events = given.events ? { events: given.events } : {};
  const localTtlMs = config.REDIS_LOCAL_TTL_S * 1000;
  if (given.store) return { store: given.store, ...events, owned: false, localTtlMs };
  if (!config.REDIS_URL) return null;
  const store = new RedisStore({ url: config.REDIS_URL, prefix: config.REDIS_PREFIX, timeoutMs: config.REDIS_TIMEOUT_MS, log, ...events });
  await store.ready(STARTUP_WAIT_MS);
  return { store, ...events, owned: true, localTtlMs };
}

/** The live checker's share of the fleet: its result cache and per-target budget. */
export function sharedChecks(shared: SharedState | null): Pick<LiveCheckerOptions, 'shared'> {
  return shared ? { shared: { store: shared.store, localTtlMs: shared.localTtlMs, ...(shared.events ? { events: shared.events } : {}) } } : {};
}

/** The fleet-wide discovery cache of the lookup service. */
export function sharedDiscoveries(config: Config, shared: SharedState, answersOffline: (domain: string) => boolean): SharedDiscoveries {
  return new SharedDiscoveries({
    store: shared.store,
    localTtlMs: shared.localTtlMs,
    waitMs: config.LOOKUP_TIMEOUT_MS,
    answersOffline,
    ...(shared.events ? { events: shared.events } : {}),
  });
}
