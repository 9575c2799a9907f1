import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { memo } from '../cache/memo.js';
import type { CacheLayer, Metrics } from '../logging/metrics.js';
import type { PressureSample } from './load-shedding.js';
import { bufferedCounter, SeriesHistogram, type CountBuffer, type CountSlot, type HistogramSeries } from './request-metrics.js';

/** Path of the Prometheus scrape endpoint (excluded from CORS; no rate limit applies to it). */
export const METRICS_PATH = '/metrics';

/** Prefix of the service's own metric names; process and runtime metrics keep prom-client's standard names. */
const PREFIX = 'mailsettings_';

/** Latency buckets in seconds: a cached lookup takes well under a millisecond, a discovery up to LOOKUP_TIMEOUT_MS. */
const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Route label of a request that matched no route (404s): never the raw URL. */
const UNMATCHED_ROUTE = 'unmatched';

/** The service's metrics in one registry, and the Metrics the core records through. */
export interface PromMetrics {
  registry: Registry;
  /** Given to the core (resolver, lookup service, live checker, shared store). */
  metrics: Metrics;
  /** Records every response: the response hook, and the lookup fast lane for what it answers. */
  responses: ResponseRecorder;
}

/** Records one response: its duration by route pattern, a lookup's outcome and cache layer, and 429s. */
export interface ResponseRecorder {
  /** `route` is a route pattern (never a raw URL); `cached` says whether a lookup was answered from the cache. */
  record(route: string, method: string, status: number, seconds: number, cached: boolean): void;
  /** The recording of responses that all have these labels, found once (the lookup fast lane's). */
  series(route: string, method: string, status: number, cached: boolean): (seconds: number) => void;
}

/**
 * Process and runtime metrics (CPU, memory, heap spaces, GC, event-loop lag, handles) are about the
 * process, not one app: collected once, in a registry of their own, and shared by every app the
 * process builds (tests build many; prom-client's collectors are never stopped).
 */
let processRegistry: Registry | undefined;

function runtimeRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * Creates the service's metrics (one registry per app), the Metrics adapter the core records
 * through, and the response recorder; responses of `lookupRoute` are also counted in lookups_total.
 */
export function createPromMetrics(lookupRoute: string): PromMetrics {
  const registry = new Registry();
  const registers = [registry];
  const sourceOutcomes = new Counter({
    name: `${PREFIX}source_outcomes_total`,
    help: 'Sources of discoveries settled, by source and outcome',
    labelNames: ['source', 'outcome'] as const,
    registers,
  });
  const sourceSeconds = new Histogram({
    name: `${PREFIX}source_duration_seconds`,
    help: 'Time a source of a discovery ran until it settled (skipped sources not counted), by source',
    labelNames: ['source'] as const,
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const checks = new Counter({ name: `${PREFIX}checks_total`, help: 'Live checks answered, by outcome (ok or the error code)', labelNames: ['outcome'] as const, registers });
  const shed = new Counter({ name: `${PREFIX}shed_total`, help: 'New work refused by load shedding, by kind (lookup, check)', labelNames: ['kind'] as const, registers });
  // Read on every cache hit: buffered (see CountBuffer), one slot per layer.
  const cacheReads = bufferedCounter({
    name: `${PREFIX}cache_reads_total`,
    help: 'Lookup cache reads, by the layer that answered (local, shared, miss)',
    labelNames: ['layer'],
    registers,
  });
  const layerSlots: Record<CacheLayer, CountSlot> = { local: cacheReads.slot({ layer: 'local' }), shared: cacheReads.slot({ layer: 'shared' }), miss: cacheReads.slot({ layer: 'miss' }) };
  const redisUp = new Gauge({ name: `${PREFIX}redis_up`, help: '1 while the shared store (Redis/Valkey) is connected, else 0', registers });
  const redisErrors = new Counter({ name: `${PREFIX}redis_errors_total`, help: 'Failed shared-store commands', registers });
  const metrics: Metrics = {
    onSource(source, outcome, ms) {
      sourceOutcomes.inc({ source, outcome });
      if (outcome !== 'skipped') sourceSeconds.observe({ source }, ms / 1000);
    },
    onCheck: (outcome) => checks.inc({ outcome }),
    onShed: (kind) => shed.inc({ kind }),
    onCacheLayer: (layer) => {
      layerSlots[layer].n += 1;
    },
    onRedisState: (up) => redisUp.set(up ? 1 : 0),
    onRedisError: () => redisErrors.inc(),
  };
  const lookupsHelp = 'Lookup requests answered, by outcome and the cache layer that answered (local, shared, miss)';
  const lookups = bufferedCounter({ name: `${PREFIX}lookups_total`, help: lookupsHelp, labelNames: ['outcome', 'cache'], registers });
  const requestSeconds = new SeriesHistogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'Time from request to response, by method, route pattern and status code',
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const rateLimited = new Counter({ name: `${PREFIX}rate_limited_total`, help: 'Requests refused with 429 rate_limited, by route', labelNames: ['route'] as const, registers });
  return { registry, metrics, responses: responseRecorder({ requestSeconds, lookups, rateLimited }, lookupRoute) };
}

/** Options of the metrics plugin: the metrics, and the live figures read at scrape time. */
export interface MetricsPluginOptions {
  prom: PromMetrics;
  /** Discoveries running now (Resolver.running). */
  discoveriesInFlight: () => number;
  /** Entries in the lookup cache now. */
  cacheEntries: () => number;
  /** The load-shedding monitor's last sample, when shedding is on. */
  pressure?: () => PressureSample;
}

/** Lookup outcome label from the response status: a closed set, whatever the request was. */
function lookupOutcome(status: number): string {
  switch (status) {
    case 200:
      return 'found';
    case 404:
      return 'not_found';
    case 400:
      return 'invalid_input';
    case 429:
      return 'rate_limited';
    case 503:
      return 'busy';
    case 504:
      return 'timeout';
    default:
      return 'error';
  }
}

/** Gauges whose values are read when Prometheus scrapes, so nothing is recorded on the request path. */
function registerScrapeGauges(options: MetricsPluginOptions): void {
  const registers = [options.prom.registry];
  new Gauge({
    name: `${PREFIX}discoveries_in_flight`,
    help: 'Discoveries running now',
    registers,
    collect() {
      this.set(options.discoveriesInFlight());
    },
  });
  new Gauge({
    name: `${PREFIX}lookup_cache_entries`,
    help: 'Entries in this process\'s lookup cache',
    registers,
    collect() {
      this.set(options.cacheEntries());
    },
  });
  const pressure = options.pressure;
  if (!pressure) return;
  new Gauge({
    name: `${PREFIX}under_pressure`,
    help: '1 while load shedding refuses new discoveries and checks, else 0',
    registers,
    collect() {
      this.set(pressure().underPressure ? 1 : 0);
    },
  });
  new Gauge({
    name: `${PREFIX}event_loop_delay_seconds`,
    help: 'Mean event-loop delay of the last load-shedding sample',
    registers,
    collect() {
      this.set(pressure().eventLoopDelayMs / 1000);
    },
  });
}

/**
 * The response recorder over the request-path metrics. Security: labels are route patterns (never
 * the raw URL), methods Node's parser accepts, status codes and closed outcome sets. Series and
 * count slots are found through nested maps keyed by those values, so the hot path (a cached
 * lookup) builds no key string and allocates nothing.
 */
function responseRecorder(
  parts: { requestSeconds: SeriesHistogram; lookups: CountBuffer; rateLimited: Counter<'route'> },
  lookupRoute: string,
): ResponseRecorder {
  const { requestSeconds, lookups, rateLimited } = parts;
  // One series per (route, method, status): SeriesHistogram.series adds a series on every call.
  const seriesOf = memo((route: string) =>
    memo((method: string) => memo((status: number): HistogramSeries => requestSeconds.series({ method, route, status_code: status }))),
  );
  const lookupSlot = memo((cached: boolean) => memo((status: number) => lookups.slot({ outcome: lookupOutcome(status), cache: cached ? 'local' : 'miss' })));
  /** The recording of one label set, made once: its histogram series, its lookups slot, its 429 count. */
  const recordingOf = (route: string, method: string, status: number, cached: boolean): ((seconds: number) => void) => {
    const series = seriesOf(route)(method)(status);
    const slot = route === lookupRoute ? lookupSlot(cached)(status) : null;
    const limited = status === 429;
    return (seconds) => {
      series.observe(seconds);
      if (slot !== null) slot.n += 1;
      if (limited) rateLimited.inc({ route });
    };
  };
  const recordings = memo((route: string) =>
    memo((method: string) => memo((status: number) => memo((cached: boolean) => recordingOf(route, method, status, cached)))),
  );
  return {
    record: (route, method, status, seconds, cached) => recordings(route)(method)(status)(cached)(seconds),
    series: (route, method, status, cached) => recordings(route)(method)(status)(cached),
  };
}

/** Records every response Fastify answers, as the request-log line names it. */
function recordResponses(app: FastifyInstance, responses: ResponseRecorder): void {
  app.addHook('onResponse', function recordResponse(request: FastifyRequest, reply: FastifyReply, done) {
    const fields = request.logFields;
    const route = fields?.route ?? request.routeOptions.url ?? UNMATCHED_ROUTE;
    responses.record(route, request.method, reply.statusCode, reply.elapsedTime / 1000, fields?.cached === true);
    done();
  });
}

/**
 * GET /metrics in Prometheus text format (the service's metrics, then the process's), and the
 * response recording. Security: the figures describe the service, not its users (no domains, no
 * addresses); keep the route off the public internet (see README: Kubernetes, NetworkPolicy).
 */
async function metricsPlugin(app: FastifyInstance, options: MetricsPluginOptions): Promise<void> {
  registerScrapeGauges(options);
  recordResponses(app, options.prom.responses);
  const runtime = runtimeRegistry();
  app.get(METRICS_PATH, { schema: { hide: true } }, async (_request, reply) => {
    const text = (await options.prom.registry.metrics()) + (await runtime.metrics());
    return reply.type(options.prom.registry.contentType).header('cache-control', 'no-store').send(text);
  });
}

/** The metrics plugin, unencapsulated so its response hook sees every route. */
export const metricsRoutes = fp(metricsPlugin, { name: 'mailsettings-metrics', fastify: '5.x' });
