import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createPromMetrics } from '../../src/plugins/metrics.js';
import type { Source } from '../../src/sources/types.js';
import { buildTestApp } from '../helpers/app.js';
import { family, labelValues, parseMetrics, scrape, value } from '../helpers/prometheus.js';

/** An autoconfig source that finds one IMAP server for every domain except those under `nothing.test`. */
const finding: Source = {
  name: 'autoconfig',
  priority: 10,
  async lookup({ subject }) {
    if (subject.domain.endsWith('nothing.test')) return { outcome: 'not-found' };
    const server = { protocol: 'imap', host: `imap.${subject.domain}`, port: 993, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext'] } as const;
    return { outcome: 'found', servers: [{ ...server, authentication: [...server.authentication], source: 'autoconfig:test', trusted: true }] };
  },
};

describe('GET /metrics', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildTestApp({ RATE_LIMIT_MAX: '3' }, { sources: [finding] });
  });
  after(() => app.close());

  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

  it('counts a discovery as a miss, the next lookup of the domain as a local cache hit, and each source', async () => {
    const before = await scrape(app);
    assert.equal((await get('/v1/lookup?domain=first.test')).statusCode, 200);
    const middle = await scrape(app);
    assert.equal((await get('/v1/lookup?domain=first.test')).statusCode, 200);
    const after = await scrape(app);
    const lookups = (families: typeof before, cache: string) => value(families, 'mailsettings_lookups_total', { outcome: 'found', cache });
    assert.equal(lookups(middle, 'miss') - lookups(before, 'miss'), 1);
    assert.equal(lookups(middle, 'local') - lookups(before, 'local'), 0);
    assert.equal(lookups(after, 'local') - lookups(middle, 'local'), 1);
    assert.equal(lookups(after, 'miss') - lookups(middle, 'miss'), 0);
    const sourceFound = (families: typeof before) => value(families, 'mailsettings_source_outcomes_total', { source: 'autoconfig', outcome: 'found' });
    assert.equal(sourceFound(middle) - sourceFound(before), 1);
    assert.equal(sourceFound(after) - sourceFound(middle), 0, 'a cache hit runs no source');
    const sourceSeconds = family(after, 'mailsettings_source_duration_seconds');
    assert.equal(sourceSeconds.type, 'HISTOGRAM');
    assert.equal(value(after, 'mailsettings_source_duration_seconds', { source: 'autoconfig' }) - value(before, 'mailsettings_source_duration_seconds', { source: 'autoconfig' }), 1);
    const requests = (families: typeof before) =>
      value(families, 'mailsettings_http_request_duration_seconds', { method: 'GET', route: '/v1/lookup', status_code: '200' });
    assert.equal(requests(after) - requests(before), 2);
  });

  it('counts a cached "nothing found" as a local hit too', async () => {
    const before = await scrape(app);
    assert.equal((await get('/v1/lookup?domain=nothing.test')).statusCode, 404);
    assert.equal((await get('/v1/lookup?domain=nothing.test')).statusCode, 404);
    const after = await scrape(app);
    const notFound = (families: typeof before, cache: string) => value(families, 'mailsettings_lookups_total', { outcome: 'not_found', cache });
    assert.equal(notFound(after, 'miss') - notFound(before, 'miss'), 1);
    assert.equal(notFound(after, 'local') - notFound(before, 'local'), 1);
  });

  it('counts 429s by route, and rate-limited lookups by outcome', async () => {
    const before = await scrape(app);
    const statuses: number[] = [];
    for (let index = 0; index < 5; index += 1) statuses.push((await get(`/v1/lookup?domain=limit${index}.test`)).statusCode);
    const limited = statuses.filter((status) => status === 429).length;
    assert.ok(limited >= 1, `some of ${statuses.join(',')} should be 429 with RATE_LIMIT_MAX=3`);
    const after = await scrape(app);
    assert.equal(value(after, 'mailsettings_rate_limited_total', { route: '/v1/lookup' }) - value(before, 'mailsettings_rate_limited_total', { route: '/v1/lookup' }), limited);
    assert.equal(
      value(after, 'mailsettings_lookups_total', { outcome: 'rate_limited' }) - value(before, 'mailsettings_lookups_total', { outcome: 'rate_limited' }),
      limited,
    );
  });

  it('counts live checks by outcome', async () => {
    const before = await scrape(app);
    // No DNS server answers in test apps: the check ends as dns_failed without any connection.
    const response = await get('/v1/check?host=mail.example.com&port=993&protocol=imap&security=tls');
    assert.equal(response.statusCode, 200);
    assert.equal(response.json<{ error: { code: string } }>().error.code, 'dns_failed');
    const after = await scrape(app);
    assert.equal(value(after, 'mailsettings_checks_total', { outcome: 'dns_failed' }) - value(before, 'mailsettings_checks_total', { outcome: 'dns_failed' }), 1);
  });

  it('labels requests by route pattern: no URL, domain or address from a request becomes a label value', async () => {
    const marker = randomUUID();
    await get(`/nowhere/${marker}`);
    await get(`/v1/providers/${marker}`);
    await get(`/v1/lookup?email=${marker}@${marker}.test`);
    const families = await scrape(app);
    const values = labelValues(families);
    assert.ok(!values.some((label) => label.includes(marker)), 'a request value leaked into a label');
    assert.ok(value(families, 'mailsettings_http_request_duration_seconds', { route: 'unmatched', status_code: '404' }) >= 1);
    assert.ok(value(families, 'mailsettings_http_request_duration_seconds', { route: '/v1/providers/:id' }) >= 1);
  });

  it('serves process, event-loop and service gauges in Prometheus text format, without CORS headers', async () => {
    const response = await get('/metrics', { origin: 'https://isp.example' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.equal(response.headers['access-control-allow-origin'], undefined);
    assert.equal((await get('/health', { origin: 'https://isp.example' })).headers['access-control-allow-origin'], '*');
    const families = parseMetrics(response.body);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      assert.ok(families.some((entry) => entry.name === name), `${name} missing`);
    }
    assert.equal(family(families, 'mailsettings_discoveries_in_flight').type, 'GAUGE');
    assert.equal(value(families, 'mailsettings_lookup_cache_entries'), app.services.lookupCache.size);
  });
});

describe('GET /metrics: discoveries in flight', () => {
  it('shows a running discovery, and none once it ended', async () => {
    let entered!: () => void;
    const started = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: Source = {
      name: 'autoconfig',
      priority: 10,
      async lookup() {
        entered();
        await gate;
        return { outcome: 'not-found' };
      },
    };
    const app = await buildTestApp({}, { sources: [slow] });
    try {
      const lookup = app.inject({ method: 'GET', url: '/v1/lookup?domain=slow.test' });
      await started;
      assert.equal(value(await scrape(app), 'mailsettings_discoveries_in_flight'), 1);
      release();
      assert.equal((await lookup).statusCode, 404);
      assert.equal(value(await scrape(app), 'mailsettings_discoveries_in_flight'), 0);
    } finally {
      await app.close();
    }
  });
});

describe('METRICS=false', () => {
  it('has no /metrics route', async () => {
    const app = await buildTestApp({ METRICS: 'false' });
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
      assert.equal((await app.inject({ method: 'GET', url: '/v1/lookup?domain=gmail.com' })).statusCode, 200);
    } finally {
      await app.close();
    }
  });
});

describe('the shared-store events', () => {
  it('record Redis state, Redis errors and cache layers through the Metrics interface', async () => {
    const prom = createPromMetrics('/v1/lookup');
    const read = async () => parseMetrics(await prom.registry.metrics());
    assert.equal(value(await read(), 'mailsettings_redis_up'), 0);
    prom.metrics.onRedisState(true);
    prom.metrics.onRedisError();
    prom.metrics.onRedisError();
    prom.metrics.onCacheLayer('shared');
    prom.metrics.onCacheLayer('local');
    prom.metrics.onCacheLayer('shared');
    let families = await read();
    assert.equal(value(families, 'mailsettings_redis_up'), 1);
    assert.equal(value(families, 'mailsettings_redis_errors_total'), 2);
    assert.equal(value(families, 'mailsettings_cache_reads_total', { layer: 'shared' }), 2);
    assert.equal(value(families, 'mailsettings_cache_reads_total', { layer: 'local' }), 1);
    prom.metrics.onRedisState(false);
    families = await read();
    assert.equal(value(families, 'mailsettings_redis_up'), 0);
  });
});
