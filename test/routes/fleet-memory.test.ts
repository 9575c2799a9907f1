import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { lookupResultSchema } from '../../src/api/schemas.js';
import type { ServerChecker } from '../../src/probes/types.js';
import type { Source } from '../../src/sources/types.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { CacheLayer } from '../../src/store/types.js';
import { buildTestApp } from '../helpers/app.js';
import { passingCheck } from '../helpers/fakes.js';

/** A memory store that tells the test each time a replica starts waiting for a lock holder. */
class WatchedStore extends MemoryStore {
  readonly waits = new EventEmitter();

  override waitForFinish(key: string, waitMs: number, signal?: AbortSignal): Promise<void> {
    this.waits.emit('wait');
    return super.waitForFinish(key, waitMs, signal);
  }
}

/**
 * Three apps in one process sharing one MemoryStore behave like three replicas sharing Redis (the
 * e2e test runs the real thing: test/e2e/fleet-redis.test.ts).
 */
describe('several replicas sharing one store (in process)', () => {
  const store = new WatchedStore({ prefix: 'fleet-test:' });
  const discoveries: string[] = [];
  let release!: () => void;
  let gate = Promise.resolve();
  const counting: Source = {
    name: 'autoconfig',
    priority: 10,
    async lookup(context) {
      discoveries.push(context.subject.domain);
      await gate;
      return {
        outcome: 'found',
        servers: [{ protocol: 'imap', host: `imap.${context.subject.domain}`, port: 993, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: 'autoconfig:test', trusted: true }],
      };
    },
  };
  const checker: ServerChecker = { check: async (target) => passingCheck(target) };
  const layers: CacheLayer[] = [];
  let apps: FastifyInstance[] = [];
  before(async () => {
    apps = await Promise.all(
      [0, 1, 2].map(() =>
        buildTestApp(
          { RATE_LIMIT_MAX: '3', CHECK_RATE_LIMIT_MAX: '2' },
          { sources: [counting], checker, sharedStore: store, storeEvents: { onCacheLayer: (layer) => layers.push(layer) } },
        ),
      ),
    );
  });
  after(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  const lookup = (index: number, query: string, remoteAddress = '192.0.2.10') =>
    apps[index]!.inject({ method: 'GET', url: `/v1/lookup?${query}`, remoteAddress });

  it('discovers a new domain once for 90 concurrent lookups spread over the replicas', async () => {
    gate = new Promise<void>((resolve) => (release = resolve));
    // Every replica reaches the store before the discovery ends: one holds the lock (and discovers),
    // the two others wait for it.
    let waiting = 0;
    const twoWaiting = new Promise<void>((resolve) => {
      const onWait = () => {
        waiting += 1;
        if (waiting < 2) return;
        store.waits.off('wait', onWait);
        resolve();
      };
      store.waits.on('wait', onWait);
    });
    const all = Promise.all(Array.from({ length: 90 }, (_, i) => lookup(i % 3, 'domain=once.test', `192.0.2.${100 + (i % 30)}`)));
    await twoWaiting;
    assert.deepEqual(discoveries, ['once.test'], 'the lock holder is discovering');
    release();
    const responses = await all;
    assert.deepEqual(responses.map((response) => response.statusCode), Array(90).fill(200));
    assert.deepEqual(discoveries, ['once.test']);
    const bodies = responses.map((response) => lookupResultSchema.parse(response.json()));
    assert.ok(bodies.every((body) => body.incoming[0]?.host === 'imap.once.test'));
    // One replica discovered; the two others read the result from the store.
    assert.deepEqual(layers.filter((layer) => layer !== 'local').sort(), ['miss', 'shared', 'shared']);
    // Read from the store: the answer says cached.
    assert.equal(bodies.filter((body) => body.cached).length >= 60, true);
  });

  it('a client over its lookup limit on one replica is limited on the others', async () => {
    const client = '198.51.100.7';
    for (let i = 0; i < 3; i += 1) assert.equal((await lookup(0, `domain=limit${i}.test`, client)).statusCode, 200);
    assert.equal((await lookup(1, 'domain=limit3.test', client)).statusCode, 429);
    assert.equal((await lookup(2, 'domain=limit4.test', client)).statusCode, 429);
    // Another client is not affected.
    assert.equal((await lookup(2, 'domain=limit5.test', '198.51.100.8')).statusCode, 200);
  });

  it('a client over its live-check limit on one replica is limited on the others', async () => {
    const check = (index: number) =>
      apps[index]!.inject({ method: 'GET', url: '/v1/check?host=imap.example.com&port=993&protocol=imap&security=tls', remoteAddress: '198.51.100.20' });
    assert.equal((await check(0)).statusCode, 200);
    assert.equal((await check(1)).statusCode, 200);
    assert.equal((await check(2)).statusCode, 429);
    assert.equal((await check(0)).statusCode, 429);
  });

  it('answers from each replica alone while the store is unavailable, and shares again once it is back', async () => {
    store.available = false;
    try {
      discoveries.length = 0;
      const responses = await Promise.all([0, 1, 2].map((index) => lookup(index, 'domain=outage.test', `203.0.113.${index + 1}`)));
      assert.deepEqual(responses.map((response) => response.statusCode), [200, 200, 200]);
      assert.equal(discoveries.length, 3, 'each replica discovered on its own');
      // The per-client limit still holds per replica.
      const client = '203.0.113.50';
      for (let i = 0; i < 3; i += 1) assert.equal((await lookup(0, `domain=outage-limit${i}.test`, client)).statusCode, 200);
      assert.equal((await lookup(0, 'domain=outage-limit3.test', client)).statusCode, 429);
    } finally {
      store.available = true;
    }
    discoveries.length = 0;
    const responses = await Promise.all([0, 1, 2].map((index) => lookup(index, 'domain=after.test', `203.0.113.${index + 10}`)));
    assert.deepEqual(responses.map((response) => response.statusCode), [200, 200, 200]);
    assert.deepEqual(discoveries, ['after.test']);
  });
});
