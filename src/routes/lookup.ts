import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, retryAfterSeconds } from '../api/errors.js';
import { clientKey } from '../net/client-key.js';
import { parseLookupInput, type InputResult } from '../api/input.js';
import { CHECK_PORTS, errorBodySchema, lookupNotFoundBodySchema, lookupResultSchema, type Server } from '../api/schemas.js';
import type { LookupOutcome, LookupService } from '../lookup/lookup-service.js';
import type { WindowCounter } from '../probes/budgets.js';
import { refusal } from '../probes/live-checker.js';
import type { ServerChecker } from '../probes/types.js';

/** Query booleans: `true`/`1` and `false`/`0`, so `?check=true` reads as people write it. */
export const queryBoolean = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1');

const lookupQuerySchema = z.object({
  email: z.string().max(320).optional().describe('An email address; give this or domain'),
  domain: z.string().max(320).optional().describe('A mail domain; give this or email'),
  check: queryBoolean.describe('Also run a live check of every returned server'),
  fresh: queryBoolean.describe('Bypass the cache (support staff)'),
});

const LOOKUP_ROUTE = '/v1/lookup';

declare module 'fastify' {
  interface FastifyRequest {
    /** The lookup query as parsed by the first hook that needed it (fast path, rate limit). */
    lookupInput: InputResult | null;
    /** The domain whose discovery this request started and marked as pending, until it is answered. */
    pendingDomain: string | null;
  }
}

/** Most servers one `lookup?check=true` checks live; the rest get a `busy` check without a connection. */
export const MAX_CHECKS_PER_LOOKUP = 12;

/** Options of the lookup routes. */
export interface LookupRoutesOptions {
  lookup: LookupService;
  checker?: ServerChecker;
  /** Live checks per client (CHECK_RATE_LIMIT_MAX), shared with /v1/check; each check of an answer takes one. */
  clientChecks?: WindowCounter;
  /** Cache-missing lookups per client per window (RATE_LIMIT_MAX, default 60). */
  rateLimitMax?: number;
  /** Rate-limit window in ms (RATE_LIMIT_WINDOW_MS, default 60000). */
  rateLimitWindowMs?: number;
  /** Where the per-client counts live (REDIS_URL: the fleet's, see plugins/rate-limit-store.ts); default this process's memory. */
  rateLimitStore?: FastifyRateLimitStoreCtor;
}

/**
 * Domains whose discovery a counted request has just started: concurrent requests for the same
 * domain join that one discovery (the cache coalesces them) and so cost nothing more. A marker lives
 * until its request is answered or aborted, and never longer than `maxAgeMs` (a safety net).
 */
export class PendingDiscoveries {
  readonly #until = new Map<string, number>();

  constructor(private readonly maxAgeMs = 30_000) {}

  has(domain: string): boolean {
    const until = this.#until.get(domain);
    if (until === undefined) return false;
    if (until >= Date.now()) return true;
    this.#until.delete(domain);
    return false;
  }

  add(domain: string): void {
    if (this.#until.size >= 100_000) {
      const now = Date.now();
      for (const [key, until] of this.#until) if (until < now) this.#until.delete(key);
    }
    this.#until.set(domain, Date.now() + this.maxAgeMs);
  }

  delete(domain: string): void {
    this.#until.delete(domain);
  }
}

/**
 * Whether a request is exempt from the per-client discovery limit: cache hits, requests joining a
 * discovery already under way (and input that will be refused anyway) cost nothing outbound.
 * Security: only lookups that start a discovery, which fans out into many DNS and HTTP requests,
 * count against the client; `fresh=true` always starts one.
 */
function exemptFromDiscoveryLimit(
  request: FastifyRequest,
  lookup: LookupService,
  pending: PendingDiscoveries,
  release: (request: FastifyRequest) => void,
): boolean {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const asText = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const input = request.lookupInput ?? parseLookupInput({ email: asText(query['email']), domain: asText(query['domain']) });
  request.lookupInput = input;
  if (!input.ok) return true;
  const domain = input.subject.domain;
  const fresh = asText(query['fresh']);
  if (fresh === 'true' || fresh === '1') return false;
  // Live checks open connections to every server of the answer: they always count.
  const check = asText(query['check']);
  if (check === 'true' || check === '1') return false;
  if (lookup.isCached(domain) || pending.has(domain)) return true;
  // Answered from memory by the provider database: no discovery, no outbound request to limit.
  if (lookup.answersOffline(domain)) return true;
  pending.add(domain);
  request.pendingDomain = domain;
  // A client that goes away before its answer releases the marker at once (what Fastify's
  // onRequestAbort hook does, but only for the requests that set a marker: a route-level
  // onRequestAbort hook would add a listener to every request, cache hits included).
  request.raw.once('close', () => {
    if (request.raw.aborted) release(request);
  });
  return false;
}

/** GET /v1/lookup: settings for an address or a domain. */
export const lookupRoutes: FastifyPluginAsync<LookupRoutesOptions> = async (app, options) => {
  // Registered in this plugin's scope so the limit applies to the route below whatever the app registers later.
  // Keyed like every per-client limit: IPv4 address or IPv6 /64 (see clientKey).
  await app.register(rateLimit, {
    global: false,
    keyGenerator: (request) => clientKey(request.ip),
    ...(options.rateLimitStore ? { store: options.rateLimitStore } : {}),
  });
  const pending = new PendingDiscoveries();
  // Per-request state as request properties rather than WeakMaps keyed by the request: entries
  // keyed by short-lived objects cost the garbage collector on every request (see npm run bench).
  app.decorateRequest('lookupInput', null);
  app.decorateRequest('pendingDomain', null);
  const serialized = new WeakMap<object, string>();
  const toJson = (data: object): string => {
    let json = serialized.get(data);
    if (json === undefined) {
      json = JSON.stringify(data);
      serialized.set(data, json);
    }
    return json;
  };
  /**
   * The hot path: a plain `?domain=` or `?email=` query whose domain is cached is answered in the
   * first route hook with ready JSON, skipping validation and the handler (the benchmark's ratio to
   * a bare route rose from about 0.6 to 0.8). Anything else, repeated or extra parameters included,
   * takes the validated path.
   */
  const cachedAnswer = (request: FastifyRequest): string | undefined => {
    const query = request.query as Record<string, unknown>;
    const keys = Object.keys(query);
    if (keys.length !== 1 || (keys[0] !== 'domain' && keys[0] !== 'email')) return undefined;
    const value = query[keys[0]];
    if (typeof value !== 'string') return undefined;
    const input = parseLookupInput(keys[0] === 'domain' ? { domain: value } : { email: value });
    // Kept for the rate limit and the handler when the request goes on past this hook.
    request.lookupInput = input;
    if (!input.ok) return undefined;
    const hit = options.lookup.cached(input.subject);
    if (!hit?.found) return undefined;
    request.logFields = { route: LOOKUP_ROUTE, domain: input.subject.domain, outcome: 'found', cached: true };
    // An address gets its own answer object (usernames filled in) each time: nothing to memoise.
    return input.subject.email === null ? toJson(hit.result) : JSON.stringify(hit.result);
  };
  const release = (request: FastifyRequest): void => {
    const domain = request.pendingDomain;
    if (domain === null) return;
    request.pendingDomain = null;
    pending.delete(domain);
  };
  app.withTypeProvider<ZodTypeProvider>().get(
    LOOKUP_ROUTE,
    {
      config: {
        rateLimit: {
          max: options.rateLimitMax ?? 60,
          timeWindow: options.rateLimitWindowMs ?? 60_000,
          allowList: (request: FastifyRequest) => exemptFromDiscoveryLimit(request, options.lookup, pending, release),
          // A refused request starts nothing, so others must not think a discovery is under way.
          onExceeded: (request: FastifyRequest) => release(request),
          errorResponseBuilder: (_request: FastifyRequest, context: { after: string }) =>
            new ApiError('rate_limited', `too many new lookups from this client; try again in ${context.after}`),
        },
      },
      onRequest: (request, reply, done) => {
        const hit = cachedAnswer(request);
        if (!hit) return done();
        // A string with a JSON content type goes out as it is (no serializer, no handler).
        void (reply as FastifyReply).type('application/json; charset=utf-8').send(hit);
      },
      // Callback style (no promise per request).
      onResponse: (request, _reply, done) => {
        release(request);
        done();
      },
      schema: {
        summary: 'Find mail settings for an email address or a domain',
        description:
          'Give exactly one of `email` or `domain`. Incoming servers come best first, IMAP recommended whenever an IMAP server exists.',
        tags: ['lookup'],
        querystring: lookupQuerySchema,
        response: {
          200: lookupResultSchema,
          400: errorBodySchema,
          404: lookupNotFoundBodySchema,
          429: errorBodySchema,
          503: errorBodySchema,
        },
      },
      // Bodies are built from typed domain objects, so the schema documents them (OpenAPI) and the
      // tests parse them with it; re-validating 2–3 KB through zod on every response cost about a
      // tenth of the hot path's CPU in the benchmark, so they are serialised with plain JSON.
      // Identical answers (domain-only cache hits) are the same object, so their JSON is made once.
      serializerCompiler: () => (data) => (typeof data === 'object' && data !== null ? toJson(data) : JSON.stringify(data)),
    },
    async (request, reply) => {
      const input = request.lookupInput ?? parseLookupInput(request.query);
      if (!input.ok) throw new ApiError('invalid_input', input.message);
      const subject = input.subject;
      const answer = (outcome: LookupOutcome) => {
        request.logFields = {
          route: LOOKUP_ROUTE,
          domain: subject.domain,
          outcome: outcome.found ? 'found' : 'not-found',
          cached: outcome.found && outcome.result.cached,
        };
        if (!outcome.found) {
          // No incoming server means no answer (200 always has incoming[0]); a domain that publishes
          // only JMAP or Exchange gets its alternatives in the 404, where an app that speaks them finds them.
          const extra = outcome.alternatives.length > 0 ? { sources: outcome.sources, alternatives: outcome.alternatives } : { sources: outcome.sources };
          const message = outcome.alternatives.length > 0
            ? `no IMAP or POP3 settings are known for ${subject.domain}; it offers ${[...new Set(outcome.alternatives.map((item) => item.kind))].join(', ')} (see alternatives)`
            : `no mail settings are known for ${subject.domain}`;
          throw new ApiError('not_found', message, {}, extra);
        }
        return outcome.result;
      };
      // Hot path: a cache hit needs no cancellation plumbing.
      if (!request.query.fresh && !request.query.check) {
        const hit = options.lookup.cached(subject);
        if (hit) return answer(hit);
      }
      // A client that goes away cancels its share of the work (the computation stops when nobody waits).
      const gone = new AbortController();
      const onClose = () => {
        if (!reply.sent) gone.abort(new Error('client disconnected'));
      };
      request.raw.once('close', onClose);
      reply.raw.once('close', onClose);
      try {
        const result = answer(
          await options.lookup.lookup(subject, { signal: gone.signal, fresh: request.query.fresh, client: clientKey(request.ip) }),
        );
        if (request.query.check) {
          const { checker, clientChecks } = options;
          if (!checker || !clientChecks) throw new ApiError('invalid_input', 'live checks are not available on this server');
          const client = clientKey(request.ip);
          const servers = [...result.incoming, ...result.outgoing];
          const checkOne = async (server: Server, index: number) => {
            // Security: an autoconfig document may list any number of servers; one request checks
            // at most MAX_CHECKS_PER_LOOKUP of them (the best-ranked), so it cannot fan out widely.
            if (index >= MAX_CHECKS_PER_LOOKUP) {
              server.check = refusal(server, 'busy', `only the first ${MAX_CHECKS_PER_LOOKUP} servers of an answer are checked`);
              return;
            }
            // Security: servers can come from autoconfig documents written by strangers (any port
            // 1-65535); like /v1/check, only mail ports are ever connected to (not a port scanner).
            if (!(CHECK_PORTS as readonly number[]).includes(server.port)) {
              server.check = refusal(server, 'forbidden_target', `port ${server.port} is not one of the checked mail ports (${CHECK_PORTS.join(', ')})`);
              return;
            }
            // Security: each check counts against the client's live-check budget, like a /v1/check
            // request, so check=true is no way around it. Taken synchronously in server order, so
            // when the budget runs out mid-answer the best-ranked servers were the ones checked and
            // the rest say rate_limited (the answer itself is still given).
            const taken = await clientChecks.take(client);
            if (!taken.ok) {
              server.check = refusal(server, 'rate_limited', `too many live checks from this client; retry in ${retryAfterSeconds(taken.retryAfterMs)} s`);
              return;
            }
            server.check = await checker.check(
              { host: server.host, port: server.port, protocol: server.protocol, security: server.security },
              { signal: gone.signal, fresh: request.query.fresh },
            );
          };
          // Incoming best first, then outgoing best first, so the cap keeps the servers people use.
          await Promise.all(servers.map(checkOne));
        }
        return result;
      } finally {
        request.raw.removeListener('close', onClose);
        reply.raw.removeListener('close', onClose);
      }
    },
  );
};
