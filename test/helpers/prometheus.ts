import type { FastifyInstance } from 'fastify';
// @ts-expect-error the package ships no type declarations; its output is typed below.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One sample of a counter or gauge, or one labelled histogram, as the parser gives them. */
interface ParsedMetric {
  labels?: Record<string, string>;
  value?: string;
}

/** One metric family of a scrape. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: ParsedMetric[];
}

const parse = parsePrometheusTextFormat as (text: string) => MetricFamily[];

/**
 * Parses Prometheus text format with a parser from npm (not regular expressions). That parser folds
 * the series of a labelled histogram into one, so each histogram is also read a second time with
 * its TYPE line left out: its `_bucket`, `_sum` and `_count` series then come back as plain
 * families, labels intact, and `value()` reads a histogram's count from `<name>_count`.
 */
export function parseMetrics(text: string): MetricFamily[] {
  const families = parse(text);
  const histograms = new Set(families.filter((entry) => entry.type === 'HISTOGRAM').map((entry) => entry.name));
  const untyped = text
    .split('\n')
    .filter((line) => [...histograms].some((name) => line.startsWith(`${name}_`)))
    // The parser drops a last line that has no newline after it.
    .map((line) => `${line}\n`)
    .join('');
  // The series of one histogram alternate (buckets, sum, count per label set), so each run of
  // lines comes back as a family of its own: runs of one name are merged.
  const series = new Map<string, MetricFamily>();
  for (const entry of parse(untyped)) {
    const seen = series.get(entry.name);
    if (seen) seen.metrics.push(...entry.metrics);
    else series.set(entry.name, entry);
  }
  return [...families, ...series.values()];
}

/** Scrapes GET /metrics of an app and parses it. */
export async function scrape(app: FastifyInstance): Promise<MetricFamily[]> {
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  if (response.statusCode !== 200) throw new Error(`GET /metrics answered ${response.statusCode}`);
  return parseMetrics(response.body);
}

function matches(metric: ParsedMetric, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([name, value]) => metric.labels?.[name] === value);
}

/** The family of that name; fails when the scrape lacks it. */
export function family(families: MetricFamily[], name: string): MetricFamily {
  const found = families.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no metric ${name} in the scrape`);
  return found;
}

/**
 * The value of a counter or gauge sample with these labels (0 when no such sample exists yet: a
 * labelled counter appears only once incremented); for a histogram, its observation count.
 */
export function value(families: MetricFamily[], name: string, labels: Record<string, string> = {}): number {
  const found = family(families, name);
  // A histogram without any observation yet has no `_count` series at all.
  const series = found.type === 'HISTOGRAM' ? families.find((entry) => entry.name === `${name}_count`) : found;
  const metric = series?.metrics.find((candidate) => matches(candidate, labels));
  if (!metric) return 0;
  return Number(metric.value);
}

/** Every label value of every sample in a scrape (to show none came from request input). */
export function labelValues(families: MetricFamily[]): string[] {
  return families.flatMap((entry) => entry.metrics.flatMap((metric) => Object.values(metric.labels ?? {})));
}
