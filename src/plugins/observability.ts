import type { FastifyInstance } from 'fastify';
import { NO_METRICS, type Metrics } from '../logging/metrics.js';
import { PressureMonitor } from './load-shedding.js';
import { createPromMetrics, metricsRoutes, type MetricsPluginOptions, type PromMetrics, type ResponseRecorder } from './metrics.js';

/** Metrics and load shedding of one app, built from configuration before the core services. */
export interface Observability {
  /** What the core records through (NO_METRICS with METRICS=false). */
  metrics: Metrics;
  /** The load-shedding check the core asks before new work; undefined when shedding is off. */
  underPressure: (() => boolean) | undefined;
  /** The monitor behind `underPressure` (tests take samples with it); undefined when shedding is off or replaced. */
  pressure: PressureMonitor | undefined;
  /** Records responses (request durations, lookups, 429s); undefined with METRICS=false. */
  responses: ResponseRecorder | undefined;
  /** Registers GET /metrics and the response recording (if on), and stops the monitor when the app closes. */
  register(app: FastifyInstance, live: Omit<MetricsPluginOptions, 'prom' | 'pressure'>): Promise<void>;
}

/** The settings metrics and load shedding read (METRICS, SHED_*; 0 turns a threshold off). */
interface ObservabilityConfig {
  METRICS: boolean;
  SHED_MAX_EVENT_LOOP_DELAY_MS: number;
  SHED_MAX_HEAP_USED_BYTES: number;
  SHED_SAMPLE_INTERVAL_MS: number;
}

/**
 * Builds the metrics (prom-client, when METRICS is on) and the pressure monitor (when a SHED_*
 * threshold is set). Responses of `lookupRoute` are also counted as lookups. `underPressure`
 * replaces the monitor's check (tests make it trip at will).
 */
export function createObservability(config: ObservabilityConfig, lookupRoute: string, underPressure?: () => boolean): Observability {
  const prom: PromMetrics | undefined = config.METRICS ? createPromMetrics(lookupRoute) : undefined;
  const shedding = config.SHED_MAX_EVENT_LOOP_DELAY_MS > 0 || config.SHED_MAX_HEAP_USED_BYTES > 0;
  const pressure =
    shedding && !underPressure
      ? new PressureMonitor({
          maxEventLoopDelayMs: config.SHED_MAX_EVENT_LOOP_DELAY_MS,
          maxHeapUsedBytes: config.SHED_MAX_HEAP_USED_BYTES,
          sampleIntervalMs: config.SHED_SAMPLE_INTERVAL_MS,
        })
      : undefined;
  return {
    metrics: prom?.metrics ?? NO_METRICS,
    underPressure: underPressure ?? (pressure ? () => pressure.underPressure : undefined),
    pressure,
    responses: prom?.responses,
    async register(app, live) {
      if (pressure) {
        app.addHook('onReady', async () => pressure.start());
        app.addHook('onClose', async () => pressure.stop());
      }
      if (!prom) return;
      await app.register(metricsRoutes, { ...live, prom, ...(pressure ? { pressure: () => pressure.last } : {}) });
    },
  };
}
