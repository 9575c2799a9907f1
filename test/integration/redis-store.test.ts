import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from '../../src/store/redis-store.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

// This file's own loopback address and port (127.0.23.0/24, ports 6423-6430). The store's logic
// without Redis (keys, shared computation over a memory store): test/unit/shared-store.test.ts.
const REDIS_ADDRESS = '127.0.23.1';
const REDIS_PORT = 6423;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A store on `url` that keeps its up/down reports in order, with a wait for the next one of a kind
 * (an event, no polling), and counts its reported errors.
 */
function watchedStore(url: string, limits: { timeoutMs: number; probeIntervalMs?: number }) {
  const states: boolean[] = [];
  const changes = new EventEmitter();
  let errors = 0;
  const store = new RedisStore({
    url,
    prefix: 'unit:',
    ...limits,
    log: silent,
    events: {
      onRedisState: (up: boolean) => {
        states.push(up);
        changes.emit(up ? 'up' : 'down');
      },
      onRedisError: () => (errors += 1),
    },
  });
  return {
    store,
    states,
    errors: () => errors,
    /** Call before causing the change. */
    next: async (state: 'up' | 'down') => {
      await once(changes, state);
    },
  };
}

describe('Redis store (a real redis-server)', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis(REDIS_ADDRESS, REDIS_PORT);
  });
  after(async () => {
    await redis.close();
  });

  it('caches with TTLs, locks, counts in windows and wakes waiters through pub/sub', async () => {
    const store = new RedisStore({ url: redis.url, prefix: 'unit:', timeoutMs: 500, log: silent });
    try {
      assert.equal(await store.ready(3_000), true);
      const key = store.key('c', 'one.test');
      assert.deepEqual(await store.get(key), { status: 'miss' });
      assert.equal(await store.set(key, 'hello', 10_000), true);
      const hit = await store.get(key);
      assert.equal(hit.status, 'hit');
      assert.ok(hit.status === 'hit' && hit.value === 'hello' && hit.ttlMs > 9_000 && hit.ttlMs <= 10_000);

      const lock = store.key('l', 'one.test');
      const first = await store.acquire(lock, 5_000);
      assert.equal(first.status, 'acquired');
      assert.equal((await store.acquire(lock, 5_000)).status, 'held');
      assert.equal(first.status === 'acquired' && (await store.extend(lock, first.token, 5_000)), true);
      assert.equal(await store.extend(lock, 'not-the-token', 5_000), false);
      // A second store (another replica) waits for the finish notice of the first.
      const other = new RedisStore({ url: redis.url, prefix: 'unit:', timeoutMs: 500, log: silent });
      await other.ready(3_000);
      // The subscriber connects on its own and the store gives no notice of it: Redis is asked until
      // PUBSUB NUMSUB counts it (a poll of another process, with a short pause between questions).
      for (let i = 0; i < 50 && !/:2\r\n$/.test(await redis.command('PUBSUB', 'NUMSUB', 'unit:finished')); i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const started = performance.now();
      const woken = other.waitForFinish(lock, 5_000);
      assert.ok(first.status === 'acquired');
      await store.finish(lock, first.token, { cacheKey: store.key('c', 'two.test'), text: 'result', ttlMs: 5_000 });
      await woken;
      assert.ok(performance.now() - started < 1_000, 'woken by the notice, not the 5 s bound');
      assert.equal((await other.get(store.key('c', 'two.test'))).status, 'hit');
      assert.equal((await other.acquire(lock, 1_000)).status, 'acquired', 'the lock was released');
      await other.close();

      // claim: the stored value if any, else the lock, in one round trip.
      const claimed = await store.claim(store.key('c', 'two.test'), store.key('l', 'two.test'), 1_000);
      assert.ok(claimed.status === 'hit' && claimed.value === 'result');
      assert.equal((await store.claim(store.key('c', 'three.test'), store.key('l', 'three.test'), 1_000)).status, 'acquired');
      assert.equal((await store.claim(store.key('c', 'three.test'), store.key('l', 'three.test'), 1_000)).status, 'held');

      const counter = store.key('n', '192.0.2.1');
      assert.deepEqual((await store.incr(counter, 60_000))?.count, 1);
      assert.deepEqual((await store.incr(counter, 60_000))?.count, 2);
      const third = await store.incr(counter, 60_000);
      assert.ok(third && third.count === 3 && third.ttlMs > 59_000);
    } finally {
      await store.close();
    }
  });

  it('reports Redis going away at once, answers unavailable without waiting, and resumes by itself', { timeout: 30_000 }, async () => {
    const watch = watchedStore(redis.url, { timeoutMs: 200 });
    const { store, states } = watch;
    try {
      assert.equal(await store.ready(3_000), true);
      assert.deepEqual(states, [true]);
      const down = watch.next('down');
      await redis.stop();
      await down;
      assert.equal(store.available, false);
      assert.deepEqual(states, [true, false]);
      const started = performance.now();
      assert.deepEqual(await store.get(store.key('c', 'x')), { status: 'unavailable' });
      assert.equal(await store.incr(store.key('n', 'x'), 1_000), null);
      assert.equal((await store.acquire(store.key('l', 'x'), 1_000)).status, 'unavailable');
      assert.ok(performance.now() - started < 50, 'no call waits while Redis is down');
      await redis.start();
      assert.equal(await store.ready(10_000), true);
      assert.deepEqual(states, [true, false, true]);
      assert.equal(await store.set(store.key('c', 'x'), 'back', 1_000), true);
    } finally {
      await store.close();
    }
  });

  it('trips on a call that times out (Redis stopped, connection open) and recovers once it answers', { timeout: 30_000 }, async () => {
    const watch = watchedStore(redis.url, { timeoutMs: 100, probeIntervalMs: 50 });
    const { store, states } = watch;
    const pid = Number(/process_id:(\d+)/.exec(await redis.command('INFO', 'server'))?.[1]);
    try {
      assert.equal(await store.ready(3_000), true);
      process.kill(pid, 'SIGSTOP');
      const started = performance.now();
      assert.deepEqual(await store.get(store.key('c', 'y')), { status: 'unavailable' });
      assert.ok(performance.now() - started < 400, 'bounded by REDIS_TIMEOUT_MS');
      assert.equal(store.available, false);
      assert.equal(watch.errors(), 1);
      // Tripped: the next calls do not wait at all.
      const next = performance.now();
      assert.equal(await store.incr(store.key('n', 'y'), 1_000), null);
      assert.ok(performance.now() - next < 20);
      const up = watch.next('up');
      process.kill(pid, 'SIGCONT');
      await up;
      assert.equal(store.available, true);
      assert.deepEqual(states, [true, false, true]);
    } finally {
      process.kill(pid, 'SIGCONT');
      await store.close();
    }
  });
});

