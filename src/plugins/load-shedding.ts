import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/** Thresholds of the pressure monitor (SHED_* variables); 0 turns a threshold off. */
export interface PressureOptions {
  maxEventLoopDelayMs: number;
  maxHeapUsedBytes: number;
  sampleIntervalMs: number;
}

/** Resolution of the event-loop delay histogram: its timer's own period, subtracted from the mean. */
const RESOLUTION_MS = 10;

/** What the monitor saw in its last sample. */
export interface PressureSample {
  eventLoopDelayMs: number;
  heapUsedBytes: number;
  underPressure: boolean;
}

/**
 * Measures event-loop delay and heap use every sample interval and says whether the process is
 * overloaded. The same measurements as @fastify/under-pressure (mean delay of a
 * monitorEventLoopDelay histogram, reset per sample; heap in use), but it refuses nothing itself:
 * that plugin's onRequest hook would answer every route 503, /health and cached lookups included,
 * and read the route options on every request of the hot path. Here the core asks `underPressure`
 * only where new work would start (a discovery, a live check), so shedding costs a cached lookup
 * nothing, and a test can take a sample at a moment of its choosing (`sample()`).
 */
export class PressureMonitor {
  readonly #options: PressureOptions;
  readonly #histogram: IntervalHistogram;
  #timer: NodeJS.Timeout | undefined;
  #last: PressureSample = { eventLoopDelayMs: 0, heapUsedBytes: 0, underPressure: false };
  #lastSampleAt = performance.now();

  constructor(options: PressureOptions) {
    this.#options = options;
    this.#histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  }

  /**
   * Starts measuring, once the app is ready: start-up (module loading, plugin registration, route
   * compilation) blocks the loop for a long while by nature, and must not read as overload, which
   * would refuse the first lookups of every new process.
   */
  start(): void {
    if (this.#timer) return;
    this.#histogram.reset();
    this.#histogram.enable();
    this.#lastSampleAt = performance.now();
    this.#timer = setInterval(() => this.sample(), this.#options.sampleIntervalMs);
    this.#timer.unref();
  }

  /** Whether the last sample passed a threshold (read by the core before it starts new work). */
  get underPressure(): boolean {
    return this.#last.underPressure;
  }

  /** The last sample (for the metrics gauges). */
  get last(): PressureSample {
    return this.#last;
  }

  /** Takes a sample now: the mean delay since the previous one, and the heap in use. */
  sample(): PressureSample {
    // Not measuring yet (the app is not ready): nothing to say.
    if (!this.#timer) return this.#last;
    const { maxEventLoopDelayMs, maxHeapUsedBytes } = this.#options;
    const mean = this.#histogram.mean / 1e6;
    const now = performance.now();
    // No histogram sample since the last one (NaN): its timer, due every RESOLUTION_MS, never got
    // to run, so the loop has been blocked about all the time since (a long synchronous task).
    const eventLoopDelayMs = Math.max(0, Number.isNaN(mean) ? now - this.#lastSampleAt - RESOLUTION_MS : mean - RESOLUTION_MS);
    this.#lastSampleAt = now;
    this.#histogram.reset();
    // The V8 figure alone: process.memoryUsage() also reads the resident set size, which costs more.
    const heapUsedBytes = getHeapStatistics().used_heap_size;
    const underPressure =
      (maxEventLoopDelayMs > 0 && eventLoopDelayMs > maxEventLoopDelayMs) || (maxHeapUsedBytes > 0 && heapUsedBytes > maxHeapUsedBytes);
    this.#last = { eventLoopDelayMs, heapUsedBytes, underPressure };
    return this.#last;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }
}
