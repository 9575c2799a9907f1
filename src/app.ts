import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { parse as parseQuery } from 'fast-querystring';
import Fastify, { LogController, type FastifyHttpOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { DestinationStream } from 'pino';
import { CoalescingCache, type Clock } from './cache/coalescing-cache.js';
import type { Config } from './config/env.js';
import type { Log } from './logging/log.js';
import { AuditService } from './lookup/audit.js';
import type { AnswerChecks } from './lookup/check-answer.js';
import { LookupService, discoverySize } from './lookup/lookup-service.js';
import { Network } from './net/connect.js';
import { DnsResolver } from './net/dns.js';
import { AddressPolicy } from './net/policy.js';
import { connectionLimits } from './plugins/connection-limits.js';
import { cors, corsHeaderPairs } from './plugins/cors.js';
import { discoveryBudget } from './plugins/discovery-budget.js';
import { errorHandler, frameworkErrorHandler } from './plugins/error-handler.js';
import { requestLog } from './plugins/request-log.js';
import { swagger } from './plugins/swagger.js';
import { METRICS_PATH } from './plugins/metrics.js';
import { createObservability, type Observability } from './plugins/observability.js';
import type { PressureMonitor } from './plugins/load-shedding.js';
import { WindowCounter } from './probes/budgets.js';
import { LiveChecker, type LiveCheckerOptions } from './probes/live-checker.js';
import type { Prober, ServerChecker } from './probes/types.js';
import type { ProviderDb } from './provider-db/provider-db.js';
import { Discoverer, type Discovery } from './resolver/discoverer.js';
import { auditRoutes } from './routes/audit.js';
import { checkRoutes } from './routes/check.js';
import { healthRoutes } from './routes/health.js';
import { LOOKUP_ROUTE, lookupRoutes } from './routes/lookup.js';
import { LookupFastLane, type RequestListener } from './routes/lookup-fast-lane.js';
import { providerRoutes } from './routes/providers.js';
import { serveRoutes } from './routes/serve.js';
import { widgetRoutes } from './routes/widget.js';
import type { HttpClient } from './net/http.js';
import { createDefaultSources, createHttpClient } from './sources/index.js';
import type { Source } from './sources/types.js';
import { ProfileSigner } from './serve/profile-signer.js';
import { ServedDomains } from './serve/served-domains.js';
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
  /** Replaces the load-shedding monitor's check (tests make it trip at will). */
  underPressure?: () => boolean;
  /** Certificate and key (PEM) to serve HTTPS directly (server.ts reads TLS_CERT_FILE/TLS_KEY_FILE); plain HTTP without. */
  https?: { key: string; cert: string };
  /** Profile signer; made from MOBILECONFIG_SIGN_CERT/KEY when absent and configured. */
  signer?: ProfileSigner;
  /** A shared store to use instead of REDIS_URL's (tests: one MemoryStore for several apps). */
  sharedStore?: SharedStore;
  /** Metrics callbacks of the shared state (Redis up/down, errors, which cache layer answered). */
  storeEvents?: StoreEvents;
}

/** The wired services of one app instance (exposed for tests and benchmarks). */
export interface AppServices {
  config: Config;
  network: Network;
  discoverer: Discoverer;
  lookupCache: CoalescingCache<Discovery>;
  lookup: LookupService;
  checker: ServerChecker;
  /** Live checks per client (CHECK_RATE_LIMIT_MAX per window), shared by /v1/check, lookup?check=true and audits. */
  clientChecks: WindowCounter;
  /** Domain audits (GET /v1/audit): every source run to its end, every server checked. */
  audits: AuditService;
  /** The fetcher of every HTTP source (closed with the app). */
  http: HttpClient;
  /** The load-shedding monitor, when a SHED_* threshold is set (tests take samples with it). */
  pressure: PressureMonitor | undefined;
  /** The fleet's shared state (REDIS_URL or deps.sharedStore); null in a single process. */
  shared: SharedState | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: AppServices;
  }
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
export function createChecker(
  config: Config,
  network: Network,
  clock?: Clock,
  observe: Pick<LiveCheckerOptions, 'metrics' | 'underPressure'> = {},
  shared: SharedState | null = null,
): LiveChecker {
  return new LiveChecker({
    ...observe,
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

/** The domains this instance serves client autoconfiguration for, and the profile signer if any. */
export interface Serving {
  served: ServedDomains;
  signer: ProfileSigner | undefined;
}

/**
 * What serving client autoconfiguration needs (src/serve/): the served domains with their documents,
 * and the profile signer when a signing pair is configured. Throws ServeConfigError (a served domain
 * no provider file lists, a certificate or key openssl cannot sign with): start-up stops on it.
 */
export async function createServing(config: Config, deps: Pick<AppDeps, 'providerDb' | 'signer'>): Promise<Serving> {
  const served = ServedDomains.create(config.SERVE_DOMAINS, deps.providerDb);
  const signer =
    deps.signer ??
    (config.MOBILECONFIG_SIGN_CERT ? await ProfileSigner.create({ certFile: config.MOBILECONFIG_SIGN_CERT, keyFile: config.MOBILECONFIG_SIGN_KEY }) : undefined);
  return { served, signer };
}

/**
 * Request ids `req-1`, `req-2`, … (base 36, as Fastify's own), from one counter per app: Fastify and
 * the lookup fast lane both take theirs here, so no two requests share one.
 */
function requestIds(): () => string {
  let last = 0;
  return () => {
    last = (last + 1) & 0x7fffffff;
    return `req-${last.toString(36)}`;
  };
}

/**
 * The HTTP(S) server, made as Fastify makes its own (the same options, timeouts and limits), with
 * the lookup fast lane in front of Fastify's request handler.
 */
function fastLaneServer(lane: LookupFastLane, tls: AppDeps['https']) {
  return (handler: RequestListener, options: FastifyHttpOptions<Server>): Server => {
    const listener = lane.listener(handler);
    // Unlike Fastify's own, an HTTPS server gets the `http` options too (headers timeout, checking interval).
    const server = tls ? createHttpsServer({ ...options.http, ...tls }, listener) : createHttpServer(options.http ?? {}, listener);
    server.keepAliveTimeout = options.keepAliveTimeout ?? server.keepAliveTimeout;
    server.requestTimeout = options.requestTimeout ?? server.requestTimeout;
    server.setTimeout(options.connectionTimeout ?? 0);
    if ((options.maxRequestsPerSocket ?? 0) > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket ?? null;
    return server;
  };
}

/** Fastify's options from configuration: timeouts, limits, logging, proxy trust, and TLS when serving HTTPS itself. */
function fastifyOptions(config: Config, deps: AppDeps, lane: LookupFastLane, requestId: () => string): FastifyHttpOptions<Server> {
  const headersTimeoutMs = Math.min(config.HEADERS_TIMEOUT_MS, config.REQUEST_TIMEOUT_MS);
  return {
    // TLS_CERT_FILE/TLS_KEY_FILE: HTTPS without a proxy in front (autoconfig hosts must be HTTPS).
    ...(deps.https ? { https: deps.https } : {}),
    serverFactory: fastLaneServer(lane, deps.https),
    logger: deps.logger ?? {
      level: config.LOG_LEVEL,
      // Privacy: never log full addresses or local parts. Nothing logs `req` or the URL (Fastify's
      // own request lines are off); the one line per request names the route and, for lookups, the
      // domain only (tested on the real process). No redaction pass on the hot path is needed.
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    genReqId: requestId,
    // The fast lane parses the lookup query with this same parser (Fastify's default, named here).
    routerOptions: { querystringParser: parseQuery },
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
    // Fastify's own two lines per request are replaced by the request-log plugin's one.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    bodyLimit: 16 * 1024,
    // Routing errors (bad percent-encoding, overlong path parameters) get the stable error shape too.
    frameworkErrors: frameworkErrorHandler,
  };
}

/** What the lookup service is made of besides configuration. */
interface LookupParts {
  log: Log;
  discoverer: Discoverer;
  lookupCache: CoalescingCache<Discovery>;
  shared: SharedState | null;
  observability: Observability;
  serving: Serving | undefined;
  checks: AnswerChecks;
}

/** The lookup use case: cache (and the fleet's, if any), discovery, live checks of an answer, load shedding, the served-domain hint. */
function createLookupService(config: Config, deps: AppDeps, parts: LookupParts): LookupService {
  const { log, discoverer, lookupCache, shared, observability, serving, checks } = parts;
  // Only when the provider database is one of the sources (tests may replace them).
  const providerDbAnswers = discoverer.sources.some((source) => source.name === 'provider-db');
  const answersOffline = (domain: string) => providerDbAnswers && deps.providerDb.byDomain(domain) !== undefined;
  return new LookupService({
    discoverer,
    cache: lookupCache,
    lookupTimeoutMs: config.LOOKUP_TIMEOUT_MS,
    cacheTtl: { foundS: config.CACHE_TTL_S, notFoundS: config.CACHE_NEGATIVE_TTL_S },
    log,
    answersOffline,
    shared: shared ? sharedDiscoveries(config, shared, answersOffline) : undefined,
    events: deps.storeEvents ?? observability.metrics,
    checks,
    underPressure: observability.underPressure,
    metrics: observability.metrics,
    shedRetryAfterS: config.SHED_RETRY_AFTER_S,
    autoconfigure: serving && serving.served.domains.length > 0 ? (subject) => serving.served.autoconfigure(subject, config.SERVE_HOSTNAME) : undefined,
  });
}

/** Wires the core from configuration: network, shared state, checker, sources, discoverer, cache, lookup service, audits. */
export async function createServices(config: Config, deps: AppDeps, log: Log, observability: Observability, serving?: Serving): Promise<AppServices> {
  // Metrics (METRICS) and load shedding (SHED_*): what the core records through and asks before new work.
  const { metrics, underPressure } = observability;
  const network = deps.network ?? createNetwork(config, log);
  const http = createHttpClient(network, { timeoutMs: config.HTTP_TIMEOUT_MS, ispdbUrls: config.ISPDB_URLS, ca: deps.httpCa });
  // The fleet's state (REDIS_URL): its events go to the metrics unless a test listens itself.
  const shared = await connectSharedState(config, log, { store: deps.sharedStore, events: deps.storeEvents ?? metrics });
  const checker = deps.checker ?? createChecker(config, network, deps.clock, { metrics, underPressure }, shared);
  // Guessing probes share the checker's per-address budget and slots; a substituted checker that
  // cannot probe (a test fake) leaves them to a real one of their own.
  const prober: Prober = isProber(checker) ? checker : createChecker(config, network, deps.clock, {}, shared);
  const clientChecks = new WindowCounter({
    max: config.CHECK_RATE_LIMIT_MAX,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    clock: deps.clock,
    shared: shared ? { counter: shared.store, kind: 'client-checks' } : undefined,
  });
  const sources = deps.sources ?? createDefaultSources({
    providerDb: deps.providerDb,
    network,
    http,
    prober,
    ispdbUrls: config.ISPDB_URLS,
    guessTimeoutMs: Math.min(config.CHECK_TIMEOUT_MS, 3_000),
  });
  const discoverer = new Discoverer(sources, {
    maxConcurrent: config.DISCOVERY_CONCURRENCY,
    maxPerClient: config.DISCOVERY_PER_CLIENT_MAX,
    companionGraceMs: config.DISCOVERY_COMPANION_GRACE_MS,
    metrics,
  });
  const lookupCache = new CoalescingCache<Discovery>({
    // With a fleet the local cache is a small one in front of the shared store.
    maxEntries: shared ? Math.min(config.CACHE_MAX_ENTRIES, config.REDIS_LOCAL_MAX_ENTRIES) : config.CACHE_MAX_ENTRIES,
    maxBytes: config.CACHE_MAX_BYTES,
    sizeOf: discoverySize,
    clock: deps.clock,
  });
  const lookup = createLookupService(config, deps, { log, discoverer, lookupCache, shared, observability, serving, checks: { checker, clientChecks } });
  const audits = new AuditService({
    sources: discoverer.sources,
    checker,
    clientChecks,
    log,
    deadlineMs: config.LOOKUP_TIMEOUT_MS,
    cacheTtlS: config.CHECK_CACHE_TTL_S,
    maxConcurrent: config.AUDIT_CONCURRENCY,
    maxPerClient: config.AUDIT_PER_CLIENT_MAX,
    clock: deps.clock,
  });
  return { config, network, discoverer, lookupCache, lookup, checker, clientChecks, audits, http, pressure: observability.pressure, shared };
}

/** Creates the Fastify app: plugins first, then routes. Nothing listens until the caller says so. */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const serving = await createServing(config, deps);
  const lane = new LookupFastLane();
  const requestId = requestIds();
  const app = Fastify(fastifyOptions(config, deps, lane, requestId));
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const observability = createObservability(config, LOOKUP_ROUTE, deps.underPressure);
  const services = await createServices(config, deps, app.log, observability, serving);
  app.decorate('services', services);
  let closing = false;
  app.addHook('onClose', async () => {
    closing = true;
    services.network.dns.cancel();
    await services.http.close();
    await serving.signer?.close();
    if (services.shared?.owned) await services.shared.store.close();
  });

  await app.register(requestLog);
  // Behind a trusted proxy every connection comes from the proxy, so the per-client cap is left to
  // the proxy (see README, production set-up).
  await app.register(connectionLimits, {
    maxConnections: config.MAX_CONNECTIONS,
    perClientMax: config.TRUST_PROXY ? 0 : config.CONNECTIONS_PER_CLIENT_MAX,
    logIntervalMs: deps.connectionLogIntervalMs,
  });
  await app.register(errorHandler);
  // Before the routes, so its response hook sees every one of them.
  await observability.register(app, {
    discoveriesInFlight: () => services.discoverer.running,
    cacheEntries: () => services.lookupCache.size,
  });
  await app.register(cors, { origins: config.CORS_ORIGINS, except: METRICS_PATH });
  await app.register(swagger);
  await app.register(discoveryBudget, {
    lookup: services.lookup,
    max: config.RATE_LIMIT_MAX,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    // With a fleet the counts are the fleet's (plugins/rate-limit-store.ts).
    store: services.shared ? sharedRateLimitStore(services.shared.store) : undefined,
  });

  await app.register(healthRoutes, { isReady: () => !closing });
  await app.register(lookupRoutes, { lookup: services.lookup });
  await app.register(checkRoutes, { checker: services.checker, clientChecks: services.clientChecks });
  await app.register(auditRoutes, { audits: services.audits, clientChecks: services.clientChecks });
  await app.register(providerRoutes, { providerDb: deps.providerDb });
  await app.register(serveRoutes, { served: serving.served, serveHostname: config.SERVE_HOSTNAME, signer: serving.signer });
  await app.register(widgetRoutes, deps.widgetDir ? { dir: deps.widgetDir } : {});
  // Cached lookups are answered in front of Fastify (routes/lookup-fast-lane.ts) until the app
  // closes; from then on Fastify answers everything (with its 503s).
  lane.open({ lookup: services.lookup, cors: corsHeaderPairs(config.CORS_ORIGINS), log: app.log, requestId, responses: observability.responses });
  app.addHook('preClose', (done) => {
    lane.close();
    done();
  });
  return app;
}
