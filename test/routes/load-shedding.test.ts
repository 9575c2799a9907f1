import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createProviderDbSource } from '../../src/sources/provider-db.js';
import type { Source } from '../../src/sources/types.js';
import { buildTestApp, loadTestProviderDb } from '../helpers/app.js';
import { scrape, value } from '../helpers/prometheus.js';

/** An autoconfig source that finds one IMAP server for any domain, counting its calls. */
function findingSource(): Source & { calls: number } {
  return {
    name: 'autoconfig',
    priority: 10,
    calls: 0,
    async lookup({ subject }) {
      this.calls += 1;
      return {
        outcome: 'found',
        servers: [{ protocol: 'imap', host: `imap.${subject.domain}`, port: 993, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: 'autoconfig:test', trusted: true }],
      };
    },
  };
}

/** The provider database (memory only) and a network source that finds any other domain. */
async function sources(network: Source): Promise<Source[]> {
  return [createProviderDbSource(await loadTestProviderDb()), network];
}

const CHECK_URL = '/v1/check?host=mail.example.com&port=993&protocol=imap&security=tls';

/** What an overloaded service must still answer (200) and what it must refuse (503 busy with Retry-After). */
async function assertShedding(app: FastifyInstance, retryAfterS: string): Promise<void> {
  const get = (url: string) => app.inject({ method: 'GET', url });
  const refused = await get('/v1/lookup?domain=new.test');
  assert.equal(refused.statusCode, 503);
  assert.equal(refused.json<{ error: { code: string } }>().error.code, 'busy');
  assert.equal(refused.headers['retry-after'], retryAfterS);
  const cached = await get('/v1/lookup?domain=warm.test');
  assert.equal(cached.statusCode, 200);
  assert.equal(cached.json<{ cached: boolean }>().cached, true);
  assert.equal((await get('/v1/lookup?email=jane@warm.test')).statusCode, 200);
  assert.equal((await get('/health')).statusCode, 200);
  assert.equal((await get('/ready')).statusCode, 200);
  // The provider database answers from memory: nothing to shed.
  assert.equal((await get('/v1/lookup?domain=gmail.com')).statusCode, 200);
  const check = await get(CHECK_URL.replace('mail.example.com', 'mail.other.example'));
  assert.equal(check.statusCode, 503);
  assert.equal(check.json<{ error: { code: string } }>().error.code, 'busy');
  assert.ok(Number(check.headers['retry-after']) >= 1);
  // A check answered before the load is still answered from its cache.
  const cachedCheck = await get(CHECK_URL);
  assert.equal(cachedCheck.statusCode, 200);
  assert.equal(cachedCheck.json<{ cached?: boolean }>().cached, true);
}

describe('load shedding', () => {
  it('with an injected pressure check: refuses new discoveries and checks, answers cached lookups and /health; recovers', async () => {
    let overloaded = false;
    const source = findingSource();
    const app = await buildTestApp({ SHED_RETRY_AFTER_S: '7' }, { sources: await sources(source), underPressure: () => overloaded });
    try {
      assert.equal((await app.inject('/v1/lookup?domain=warm.test')).statusCode, 200);
      assert.equal((await app.inject(CHECK_URL)).statusCode, 200);
      const before = await scrape(app);
      overloaded = true;
      await assertShedding(app, '7');
      assert.equal(source.calls, 1, 'no discovery ran while overloaded');
      const after = await scrape(app);
      assert.equal(value(after, 'mailsettings_shed_total', { kind: 'lookup' }) - value(before, 'mailsettings_shed_total', { kind: 'lookup' }), 1);
      assert.equal(value(after, 'mailsettings_shed_total', { kind: 'check' }) - value(before, 'mailsettings_shed_total', { kind: 'check' }), 1);
      assert.equal(value(after, 'mailsettings_lookups_total', { outcome: 'busy', cache: 'miss' }) - value(before, 'mailsettings_lookups_total', { outcome: 'busy', cache: 'miss' }), 1);
      // The refusal was not cached: once the load eases the same lookup runs.
      overloaded = false;
      assert.equal((await app.inject('/v1/lookup?domain=new.test')).statusCode, 200);
      assert.equal(source.calls, 2);
    } finally {
      await app.close();
    }
  });

  it('with a real blocked event loop measured by the monitor', async () => {
    // A long interval: samples are taken only where the test says so.
    const app = await buildTestApp(
      { SHED_MAX_EVENT_LOOP_DELAY_MS: '100', SHED_SAMPLE_INTERVAL_MS: '60000', SHED_RETRY_AFTER_S: '3' },
      { sources: await sources(findingSource()) },
    );
    try {
      const monitor = app.services.pressure;
      assert.ok(monitor, 'SHED_MAX_EVENT_LOOP_DELAY_MS > 0 starts the monitor');
      assert.equal((await app.inject('/v1/lookup?domain=warm.test')).statusCode, 200);
      assert.equal((await app.inject(CHECK_URL)).statusCode, 200);
      monitor.sample();
      // Block the event loop for 300 ms, as a burst of synchronous work would.
      const until = performance.now() + 300;
      while (performance.now() < until);
      const sample = monitor.sample();
      assert.ok(sample.eventLoopDelayMs > 100, `measured ${sample.eventLoopDelayMs} ms`);
      assert.equal(monitor.underPressure, true);
      await assertShedding(app, '3');
      assert.equal(value(await scrape(app), 'mailsettings_under_pressure'), 1);
      // The next sample, with the loop free again, lifts the pressure.
      assert.equal(monitor.sample().underPressure, false);
      assert.equal((await app.inject('/v1/lookup?domain=new.test')).statusCode, 200);
    } finally {
      await app.close();
    }
  });

  it('with a heap threshold the process is above', async () => {
    const app = await buildTestApp({ SHED_MAX_HEAP_USED_BYTES: '1024', SHED_SAMPLE_INTERVAL_MS: '60000' }, { sources: await sources(findingSource()) });
    try {
      assert.equal((await app.inject('/v1/lookup?domain=warm.test')).statusCode, 200);
      assert.equal((await app.inject(CHECK_URL)).statusCode, 200);
      const sample = app.services.pressure?.sample();
      assert.ok(sample && sample.heapUsedBytes > 1024 && sample.underPressure);
      await assertShedding(app, '5');
    } finally {
      await app.close();
    }
  });

  it('is off with every threshold at 0', async () => {
    const app = await buildTestApp({ SHED_MAX_EVENT_LOOP_DELAY_MS: '0', SHED_MAX_HEAP_USED_BYTES: '0' });
    try {
      assert.equal(app.services.pressure, undefined);
    } finally {
      await app.close();
    }
  });
});
