import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import { RateLimitedError } from '../api/errors.js';
import type { InputResult } from '../api/input.js';
import type { LookupService } from '../lookup/lookup-service.js';
import { clientKey } from '../net/client-key.js';

/** Options of the discovery budget. */
export interface DiscoveryBudgetOptions {
  lookup: LookupService;
  /** Cache-missing lookups per client per window (RATE_LIMIT_MAX). */
  max: number;
  /** Window of the budget in ms (RATE_LIMIT_WINDOW_MS). */
  windowMs: number;
  /** Where the per-client counts live (REDIS_URL: the fleet's, see plugins/rate-limit-store.ts); default this process's memory. */
  store?: FastifyRateLimitStoreCtor;
}

/** What a route whose config says `discoveryBudget: true` must put on its requests before the budget's hook runs. */
export interface DiscoveryRequest {
  /** The parsed lookup input (the route parses its query once). */
  input: InputResult;
  /** `fresh=true`: always starts a discovery. */
  fresh: boolean;
  /** `check=true`: opens connections to every server of the answer, so it always counts. */
  check: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Count the discoveries this route's requests start against the client's budget. */
    discoveryBudget?: boolean;
  }
  interface FastifyRequest {
    /** Set by a budgeted route (in a preHandler hook) before the budget is applied. */
    discoveryRequest: DiscoveryRequest | null;
    /** Whether this request counts against the client's budget (decided once, before the budget's hook). */
    countsAgainstBudget: boolean;
    /** The domain whose discovery this request was counted for and is about to start, until it is answered. */
    countedDomain: string | null;
  }
}

/** How long a counted request's marker lets others join its discovery at most (a safety net: it is released on answer). */
const MARKER_MAX_AGE_MS = 30_000;

/**
 * The per-client budget of cache-missing lookups (429 `rate_limited` beyond it), keyed like every
 * per-client limit (IPv4 address or IPv6 /64, see clientKey). Security: only a request that starts
 * a discovery, which fans out into many DNS and HTTP requests, costs the client anything: cache hits,
 * domains the provider database answers from memory, and requests joining a discovery already under
 * way (the cache's running computation, or one a counted request is about to start) are free;
 * `fresh=true` and `check=true` always count.
 */
export const discoveryBudget = fp<DiscoveryBudgetOptions>(
  async (app, options) => {
    // Domains a counted request is about to discover: the gap between the budget's decision and the
    // cache's computation starting. Released when the request is answered or its client leaves.
    const starting = new LRUCache<string, true>({ max: 100_000, ttl: MARKER_MAX_AGE_MS });
    const costsNothing = (asked: DiscoveryRequest | null): boolean => {
      if (!asked || !asked.input.ok) return true;
      if (asked.fresh || asked.check) return false;
      const domain = asked.input.subject.domain;
      return options.lookup.isCached(domain) || options.lookup.isDiscovering(domain) || starting.has(domain) || options.lookup.answersOffline(domain);
    };
    const release = (request: FastifyRequest): void => {
      const domain = request.countedDomain;
      if (domain === null) return;
      request.countedDomain = null;
      starting.delete(domain);
    };
    // Decides, synchronously, whether the request costs anything, and marks the domain it will
    // discover at once, so that concurrent requests for it (the rate limiter's store answers
    // asynchronously) already see the marker and join for free.
    const decide = (request: FastifyRequest, _reply: unknown, done: () => void): void => {
      const asked = request.discoveryRequest;
      request.countsAgainstBudget = !costsNothing(asked);
      if (request.countsAgainstBudget && asked?.input.ok && !asked.fresh && !asked.check) {
        request.countedDomain = asked.input.subject.domain;
        starting.set(request.countedDomain, true);
        // A client that goes away before its answer releases the marker at once (only requests that
        // set one listen: a route-level onRequestAbort hook would add a listener to every request).
        request.raw.once('close', () => {
          if (request.raw.aborted) release(request);
        });
      }
      done();
    };
    app.decorateRequest('discoveryRequest', null);
    app.decorateRequest('countsAgainstBudget', false);
    app.decorateRequest('countedDomain', null);
    app.addHook('onRoute', (route: RouteOptions) => {
      if (route.config?.discoveryBudget) budgetRoute(route, options, decide, release);
    });
    // After the onRoute hook above, so the rate limiter sees the config it sets and its hook runs
    // after `decide`, in the budgeted route's preHandler phase (the query is validated by then).
    await app.register(rateLimit, {
      global: false,
      hook: 'preHandler',
      keyGenerator: (request) => clientKey(request.ip),
      ...(options.store ? { store: options.store } : {}),
    });
  },
  { name: 'discovery-budget', fastify: '5.x' },
);

function toArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Makes a route count its discoveries: the rate limiter's config, the deciding hook, the release on response. */
function budgetRoute(
  route: RouteOptions,
  options: DiscoveryBudgetOptions,
  decide: (request: FastifyRequest, reply: unknown, done: () => void) => void,
  release: (request: FastifyRequest) => void,
): void {
  route.config = {
    ...route.config,
    rateLimit: {
      max: options.max,
      timeWindow: options.windowMs,
      allowList: (request: FastifyRequest) => !request.countsAgainstBudget,
      // A refused request starts nothing, so others must not think a discovery is under way.
      onExceeded: release,
      errorResponseBuilder: (_request: FastifyRequest, context: { after: string; ttl: number }) =>
        new RateLimitedError(`too many new lookups from this client; try again in ${context.after}`, context.ttl),
    },
  };
  route.preHandler = [...toArray(route.preHandler), decide];
  route.onResponse = [
    ...toArray(route.onResponse),
    function releaseMarker(request, _reply, done) {
      release(request);
      done();
    },
  ];
}
