import { Counter, type Metric, type Registry } from 'prom-client';

/** Label values of one series: label name to value. */
type LabelSet = Record<string, string | number>;

/** One label set's buckets, sum and count: observing costs a bucket search and three additions. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: LabelSet,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  /** Records one value (in the histogram's unit). */
  observe(value: number): void {
    const bounds = this.bounds;
    let index = 0;
    while (index < bounds.length && value > bounds[index]!) index += 1;
    if (index < bounds.length) this.counts[index]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

/** Options of a {@link SeriesHistogram}. */
export interface SeriesHistogramOptions {
  name: string;
  help: string;
  /** Upper bounds, ascending; `+Inf` is implied. */
  buckets: readonly number[];
  registers: Registry[];
}

/**
 * A Prometheus histogram for the request path, in the same text format as prom-client's. Why not
 * prom-client's Histogram: its observe() validates the labels, builds a hash string and allocates
 * a label/value pair on every call, even through `labels()` (about 4% of the cached lookup's CPU,
 * npm run bench). Here the caller keeps each series (one per label set, made once) and observing
 * allocates nothing; the work of the text format is done when Prometheus scrapes.
 */
export class SeriesHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly #buckets: readonly number[];
  readonly #series: HistogramSeries[] = [];

  constructor(options: SeriesHistogramOptions) {
    this.name = options.name;
    this.help = options.help;
    this.#buckets = options.buckets;
    // The registry reads only name, help, type, aggregator, get() and reset(); its parameter type is
    // a union of prom-client's own classes, which no other class can satisfy.
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric<string>);
  }

  /** A new series for this label set (callers keep it; label values must come from a closed set). */
  series(labels: LabelSet): HistogramSeries {
    const series = new HistogramSeries(labels, this.#buckets);
    this.#series.push(series);
    return series;
  }

  /** The values as prom-client's registry formats them: cumulative buckets, `+Inf`, sum and count per series. */
  get(): { name: string; help: string; type: string; aggregator: string; values: { labels: LabelSet; value: number; metricName: string }[] } {
    const values: { labels: LabelSet; value: number; metricName: string }[] = [];
    for (const series of this.#series) {
      let cumulative = 0;
      this.#buckets.forEach((bound, index) => {
        cumulative += series.counts[index]!;
        values.push({ labels: { le: bound, ...series.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: `${this.name}_bucket` });
      values.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Registry.resetMetrics(): every series back to zero. */
  reset(): void {
    for (const series of this.#series) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}

/** One label set of a buffered counter: `n` is added on the request path, passed on at scrape time. */
export interface CountSlot {
  readonly labels: LabelSet;
  n: number;
}

/**
 * Increments of a prom-client Counter collected in plain numbers and added to it when the registry
 * is read (call {@link flush} from the counter's `collect`). Counter.inc() hashes and validates its
 * labels on every call; a slot is one addition.
 */
export class CountBuffer {
  readonly #slots: CountSlot[] = [];

  /** A slot for this label set (callers keep it). */
  slot(labels: LabelSet): CountSlot {
    const slot = { labels, n: 0 };
    this.#slots.push(slot);
    return slot;
  }

  /** Adds the buffered counts to the counter (called while prom-client collects). */
  flush(counter: Counter<string>): void {
    for (const slot of this.#slots) {
      if (slot.n === 0) continue;
      counter.inc(slot.labels, slot.n);
      slot.n = 0;
    }
  }
}

/** A prom-client Counter whose increments go through a {@link CountBuffer} (passed on when the registry is read). */
export function bufferedCounter(options: { name: string; help: string; labelNames: readonly string[]; registers: Registry[] }): CountBuffer {
  const buffer = new CountBuffer();
  new Counter({
    ...options,
    collect() {
      buffer.flush(this);
    },
  });
  return buffer;
}
