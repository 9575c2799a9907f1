import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { DestinationStream } from 'pino';
import { CoalescingCache, type Clock } from './cache/coalescing-cache.js';
import type { Config } from './config/env.js';
import { LookupService, discoverySize } from './lookup/lookup-service.js';
import { Network } from './net/connect.js';
import { DnsResolver } from './net/dns.js';
import { AddressPolicy } from './net/policy.js';
import { registerCors } from './plugins/cors.js';
import { frameworkErrorHandler, registerErrorHandler } from './plugins/error-handler.js';
import { registerSwagger } from './plugins/swagger.js';
import { LiveChecker } from './probes/live-checker.js';
import type { ServerChecker } from './probes/types.js';
import type { ProviderDb } from './provider-db/provider-db.js';
import { Resolver, type Discovery } from './resolver/resolver.js';
import { checkRoutes } from './routes/check.js';
import { healthRoutes } from './routes/health.js';
import { lookupRoutes } from './routes/lookup.js';
import { providerRoutes } from './routes/providers.js';
import { widgetRoutes } from './routes/widget.js';
import { createDefaultSources, createHttpClient } from './sources/index.js';
import type { Source } from './sources/types.js';

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
}

/** The wired services of one app instance (exposed for tests and benchmarks). */
export interface AppServices {
  config: Config;
  network: Network;
  resolver: Resolver;
  lookupCache: CoalescingCache<Discovery>;
  lookup: LookupService;
  checker: ServerChecker;
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
export function createNetwork(config: Config): Network {
  return new Network(
    new DnsResolver({ servers: config.DNS_SERVERS, timeoutMs: config.DNS_TIMEOUT_MS, tries: config.DNS_TRIES }),
    new AddressPolicy(config.PROBE_ALLOW_CIDRS),
  );
}

/** Builds the live checker from configuration: limits, cache and time limit of live checks. */
export function createChecker(config: Config, network: Network, clock?: Clock): ServerChecker {
  return new LiveChecker({
    network,
    timeoutMs: config.CHECK_TIMEOUT_MS,
    cacheTtlS: config.CHECK_CACHE_TTL_S,
    concurrency: config.CHECK_CONCURRENCY,
    targetLimitMax: config.CHECK_TARGET_LIMIT_MAX,
    targetWindowMs: config.RATE_LIMIT_WINDOW_MS,
    ...(clock ? { clock } : {}),
  });
}

/** Creates the Fastify app: plugins first, then routes. Nothing listens until the caller says so. */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
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

  const network = deps.network ?? createNetwork(config);
  const http = createHttpClient(config, network, deps.httpCa ? { ca: deps.httpCa } : {});
  const resolver = new Resolver(deps.sources ?? createDefaultSources({ config, providerDb: deps.providerDb, network, http }), {
    maxConcurrent: config.DISCOVERY_CONCURRENCY,
  });
  const lookupCache = new CoalescingCache<Discovery>({
    maxEntries: config.CACHE_MAX_ENTRIES,
    maxBytes: config.CACHE_MAX_BYTES,
    sizeOf: discoverySize,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const lookup = new LookupService({ resolver, cache: lookupCache, config, log: app.log });
  const checker = deps.checker ?? createChecker(config, network, deps.clock);
  app.decorate('services', { config, network, resolver, lookupCache, lookup, checker });

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

  let closing = false;
  app.addHook('onClose', async () => {
    closing = true;
    network.dns.cancel();
    await http.close();
  });

  registerErrorHandler(app);
  await registerCors(app, config.CORS_ORIGINS);
  await registerSwagger(app);
  await app.register(healthRoutes, { isReady: () => !closing });
  await app.register(lookupRoutes, {
    lookup,
    checker,
    rateLimitMax: config.RATE_LIMIT_MAX,
    rateLimitWindowMs: config.RATE_LIMIT_WINDOW_MS,
  });
  await app.register(checkRoutes, {
    checker,
    rateLimitMax: config.CHECK_RATE_LIMIT_MAX,
    rateLimitWindowMs: config.RATE_LIMIT_WINDOW_MS,
  });
  await app.register(providerRoutes, { providerDb: deps.providerDb });
  await app.register(widgetRoutes, deps.widgetDir ? { dir: deps.widgetDir } : {});
  return app;
}
