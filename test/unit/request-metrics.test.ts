import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { bufferedCounter, SeriesHistogram } from '../../src/plugins/request-metrics.js';

describe('request-path metrics', () => {
  it('a SeriesHistogram scrapes exactly like prom-client\'s Histogram fed the same values', async () => {
    const reference = new Registry();
    const ours = new Registry();
    const buckets = [0.001, 0.01, 0.1];
    const histogram = new Histogram({ name: 'd_seconds', help: 'h', labelNames: ['method', 'route', 'status_code'], buckets, registers: [reference] });
    const series = new SeriesHistogram({ name: 'd_seconds', help: 'h', buckets, registers: [ours] });
    const found = series.series({ method: 'GET', route: '/v1/lookup', status_code: 200 });
    const missing = series.series({ method: 'GET', route: 'unmatched', status_code: 404 });
    // Values on, between and beyond the bounds.
    for (const value of [0.0005, 0.001, 0.005, 0.1, 2, 0]) {
      histogram.observe({ method: 'GET', route: '/v1/lookup', status_code: 200 }, value);
      found.observe(value);
    }
    histogram.observe({ method: 'GET', route: 'unmatched', status_code: 404 }, 0.02);
    missing.observe(0.02);
    assert.equal(await ours.metrics(), await reference.metrics());
    ours.resetMetrics();
    assert.match(await ours.metrics(), /d_seconds_count\{method="GET",route="\/v1\/lookup",status_code="200"\} 0/);
  });

  it('a buffered counter passes its counts on at each scrape, once', async () => {
    const registry = new Registry();
    const counts = bufferedCounter({ name: 'c_total', help: 'h', labelNames: ['layer'], registers: [registry] });
    const local = counts.slot({ layer: 'local' });
    counts.slot({ layer: 'miss' });
    local.n += 3;
    assert.match(await registry.metrics(), /c_total\{layer="local"\} 3\n/);
    assert.doesNotMatch(await registry.metrics(), /layer="miss"/, 'a slot never counted is not a series');
    local.n += 1;
    assert.match(await registry.metrics(), /c_total\{layer="local"\} 4\n/);
  });
});
