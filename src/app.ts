import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { DestinationStream } from 'pino';
import { CoalescingCache, type Clock } from './cache/coalescing-cache.js';
import type { Config } from './config/env.js';
import type { Log } from './logging/log.js';
import { LookupService, discoverySize } from './lookup/lookup-service.js';
import { Network } from './net/connect.js';
import { CONNECTION_LOG_INTERVAL_MS, limitConnections } from './net/connection-limits.js';
import { DnsResolver } from './net/dns.js';
import { AddressPolicy } from './net/policy.js';
import { registerCors } from './plugins/cors.js';
import { frameworkErrorHandler, registerErrorHandler } from './plugins/error-handler.js';
import { registerSwagger } from './plugins/swagger.js';
import { WindowCounter } from './probes/budgets.js';
import { LiveChecker } from './probes/live-checker.js';
import type { Prober, ServerChecker } from './probes/types.js';
import type { ProviderDb } from './provider-db/provider-db.js';
import { Resolver, type Discovery } from './resolver/resolver.js';
import { checkRoutes } from './routes/check.js';
import { healthRoutes } from './routes/health.js';
import { lookupRoutes } from './routes/lookup.js';
import { providerRoutes } from './routes/providers.js';
import { widgetRoutes } from './routes/widget.js';
import { createDefaultSources, createHttpClient } from './sources/index.js';
import type { Source } from './sources/types.js';
import { sharedRateLimitStore } from './plugins/rate-limit-store.js';
import { connectSharedState, sharedChecks, sharedDiscoveries, type SharedState } from './shared-state.js';
import type { SharedStore, StoreEvents } from './store/types.js';

/** What buildApp needs besides configuration; tests substitute any part. */
export interface AppDeps {
  providerDb: ProviderDb;
  network?: Network;
  sources?: Source[];
  /** Extra CA certificates for autoconfig/ISPDB fetches (tests); production uses the system store. */
  httpCa?: string;
  checker?: ServerChecker;
  clock?: Clock;
  logger?: FastifyServerOptions['logger'];
  /** Where the default logger writes (server.ts: stdout, asynchronously); default stdout, synchronously. */
  logStream?: DestinationStream;
  /** Directory of the built widget and pages (default dist/widget/). */
  widgetDir?: string;
  /** Interval of the refused-connections warning (tests; default CONNECTION_LOG_INTERVAL_MS). */
  connectionLogIntervalMs?: number;
  /** A shared store to use instead of REDIS_URL's (tests: one MemoryStore for several apps). */
  sharedStore?: SharedStore;
  /** Metrics callbacks of the shared state (Redis up/down, errors, which cache layer answered). */
  storeEvents?: StoreEvents;
}

/** The wired services of one app instance (exposed for tests and benchmarks). */
export interface AppServices {
  config: Config;
  network: Network;
  resolver: Resolver;
  lookupCache: CoalescingCache<Discovery>;
  lookup: LookupService;
  checker: ServerChecker;
  /** Live checks per client (CHECK_RATE_LIMIT_MAX per window), shared by /v1/check and lookup?check=true. */
  clientChecks: WindowCounter;
  /** The fleet's shared state (REDIS_URL or deps.sharedStore); null in a single process. */
  shared: SharedState | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: AppServices;
  }
  interface FastifyRequest {
    /** What a route adds to the one log line of its request (privacy: never an address). */
    logFields: RequestLogFields | null;
  }
}

/** Fields a route adds to its request's log line; `route` spares the hot path Fastify's routeOptions getter. */
export interface RequestLogFields {
  route?: string;
  domain: string;
  outcome: 'found' | 'not-found';
  cached: boolean;
}

/** Builds the network door from configuration: resolver, address policy, connector. */
export function createNetwork(config: Config, log?: Pick<Log, 'debug'>): Network {
  return new Network(
    new DnsResolver({
      servers: config.DNS_SERVERS,
      timeoutMs: config.DNS_TIMEOUT_MS,
      tries: config.DNS_TRIES,
      failedZoneTtlMs: config.DNS_FAILED_ZONE_TTL_S * 1000,
    }),
    new AddressPolicy(config.PROBE_ALLOW_CIDRS),
    log,
  );
}

/** Builds the live checker from configuration: limits, cache and time limit of live checks. */
export function createChecker(config: Config, network: Network, clock?: Clock, shared: SharedState | null = null): LiveChecker {
  return new LiveChecker({
    network,
    timeoutMs: config.CHECK_TIMEOUT_MS,
    cacheTtlS: config.CHECK_CACHE_TTL_S,
    concurrency: config.CHECK_CONCURRENCY,
    targetLimitMax: config.CHECK_TARGET_LIMIT_MAX,
    targetWindowMs: config.RATE_LIMIT_WINDOW_MS,
    ...(clock ? { clock } : {}),
    ...sharedChecks(shared),
  });
}

function isProber(checker: ServerChecker): checker is ServerChecker & Prober {
  return typeof (checker as Partial<Prober>).probe === 'function';
}

/** Creates the Fastify app: plugins first, then routes. Nothing listens until the caller says so. */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const headersTimeoutMs = Math.min(config.HEADERS_TIMEOUT_MS, config.REQUEST_TIMEOUT_MS);
  const app = Fastify({
    logger: deps.logger ?? {
      level: config.LOG_LEVEL,
      // Privacy: never log full addresses or local parts. Nothing logs `req` or the URL (Fastify's
      // own request lines are off); the one line per request names the route and, for lookups, the
      // domain only (tested on the real process). No redaction pass on the hot path is needed.
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    connectionTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    maxRequestsPerSocket: config.MAX_REQUESTS_PER_SOCKET,
    http: {
      // Node requires headersTimeout <= requestTimeout (a request's headers are part of it).
      headersTimeout: headersTimeoutMs,
      requestTimeout: config.REQUEST_TIMEOUT_MS,
      // Node checks both timeouts only this often (30 s by default, which would let a slowloris
      // hold its socket 40 s under a 10 s limit); a quarter of the limit, 1 s at most, keeps them exact.
      connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(headersTimeoutMs / 4))),
    },
    trustProxy: config.TRUST_PROXY,
    // Fastify's own two lines per request are replaced by the one onResponse line below.
    logController: new LogController({ disableRequestLogging: true }),
    // Requests log through the app's logger itself rather than a child per request (a child costs
    // an object and a serialised binding on every request, see npm run bench); the lines that
    // concern a request carry its `reqId` field explicitly. (So a route-level `logLevel` would have
    // no effect; no route sets one.)
    childLoggerFactory: (logger) => logger,
    return503OnClosing: true,
    bodyLimit: 16 * 1024,
    // Routing errors (bad percent-encoding, overlong path parameters) get the stable error shape too.
    frameworkErrors: frameworkErrorHandler,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const network = deps.network ?? createNetwork(config, app.log);
  const http = createHttpClient(config, network, deps.httpCa ? { ca: deps.httpCa } : {});
  const shared = await connectSharedState(config, app.log, { ...(deps.sharedStore ? { store: deps.sharedStore } : {}), ...(deps.storeEvents ? { events: deps.storeEvents } : {}) });
  const checker = deps.checker ?? createChecker(config, network, deps.clock, shared);
  // Guessing probes share the checker's per-address budget and slots; a substituted checker that
  // cannot probe (a test fake) leaves them to a real one of their own.
  const prober: Prober = isProber(checker) ? checker : createChecker(config, network, deps.clock, shared);
  const clientChecks = new WindowCounter({
    max: config.CHECK_RATE_LIMIT_MAX,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(shared ? { shared: { counter: shared.store, kind: 'client-checks' } } : {}),
  });
  const resolver = new Resolver(deps.sources ?? createDefaultSources({ config, providerDb: deps.providerDb, network, http, prober }), {
    maxConcurrent: config.DISCOVERY_CONCURRENCY,
    maxPerClient: config.DISCOVERY_PER_CLIENT_MAX,
    companionGraceMs: config.DISCOVERY_COMPANION_GRACE_MS,
  });
  const lookupCache = new CoalescingCache<Discovery>({
    // With a fleet the local cache is a small one in front of the shared store.
    maxEntries: shared ? Math.min(config.CACHE_MAX_ENTRIES, config.REDIS_LOCAL_MAX_ENTRIES) : config.CACHE_MAX_ENTRIES,
    maxBytes: config.CACHE_MAX_BYTES,
    sizeOf: discoverySize,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  // Only when the provider database is one of the sources (tests may replace them).
  const providerDbAnswers = resolver.sources.some((source) => source.name === 'provider-db');
  const answersOffline = (domain: string) => providerDbAnswers && deps.providerDb.byDomain(domain) !== undefined;
  const lookup = new LookupService({
    resolver,
    cache: lookupCache,
    config,
    log: app.log,
    answersOffline,
    ...(shared ? { shared: sharedDiscoveries(config, shared, answersOffline) } : {}),
    ...(deps.storeEvents ? { events: deps.storeEvents } : {}),
  });
  app.decorate('services', { config, network, resolver, lookupCache, lookup, checker, clientChecks, shared });

  // One line per request: method, route, status, ms (the lookup route adds domain and outcome).
  app.decorateRequest('logFields', null);
  // Callback style (no promise per request): this runs for every response.
  app.addHook('onResponse', (request, reply, done) => {
    const fields = request.logFields;
    // One object literal, no spread: this runs for every response (see npm run bench).
    request.log.info(
      {
        reqId: request.id,
        method: request.method,
        route: fields?.route ?? request.routeOptions.url ?? 'unknown',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        domain: fields?.domain,
        outcome: fields?.outcome,
        cached: fields?.cached,
      },
      'request',
    );
    done();
  });

  // Security: connections to the service itself are bounded server-wide (maxConnections: Node
  // closes the excess before reading it) and per client; behind a trusted proxy every connection
  // comes from the proxy, so the per-client cap is left to the proxy (see README, production set-up).
  app.server.maxConnections = config.MAX_CONNECTIONS;
  const connectionLimits = limitConnections(app.server, {
    perClientMax: config.TRUST_PROXY ? 0 : config.CONNECTIONS_PER_CLIENT_MAX,
    logIntervalMs: deps.connectionLogIntervalMs ?? CONNECTION_LOG_INTERVAL_MS,
    log: app.log,
  });

  let closing = false;
  app.addHook('onClose', async () => {
    closing = true;
    connectionLimits.stop();
    network.dns.cancel();
    await http.close();
    if (shared?.owned) await shared.store.close();
  });

  registerErrorHandler(app);
  await registerCors(app, config.CORS_ORIGINS);
  await registerSwagger(app);
  await app.register(healthRoutes, { isReady: () => !closing });
  await app.register(lookupRoutes, {
    lookup,
    checker,
    clientChecks,
    rateLimitMax: config.RATE_LIMIT_MAX,
    rateLimitWindowMs: config.RATE_LIMIT_WINDOW_MS,
    ...(shared ? { rateLimitStore: sharedRateLimitStore(shared.store) } : {}),
  });
  await app.register(checkRoutes, { checker, clientChecks });
  await app.register(providerRoutes, { providerDb: deps.providerDb });
  await app.register(widgetRoutes, deps.widgetDir ? { dir: deps.widgetDir } : {});
  return app;
}
