import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeKey, MAX_KEY_PART_CHARS } from '../../src/store/keys.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { SharedComputation } from '../../src/store/shared-compute.js';
import type { CacheLayer, SharedStore } from '../../src/store/types.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

// This file's own loopback address and port (127.0.23.0/24, ports 6423-6430).
const REDIS_ADDRESS = '127.0.23.1';
const REDIS_PORT = 6423;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('store keys', () => {
  it('escapes every character that could reach another kind or break a command, with a fixed width', () => {
    assert.equal(storeKey('p:', 'lookup', 'Example.COM'), 'p:lookup:example.com');
    assert.equal(storeKey('p:', 'k', 'a:b c*\n'), 'p:k:a%003ab%0020c%002a%000a');
    // Fixed-width escapes: U+0100 and "\u0010" + "0" do not collide.
    assert.notEqual(storeKey('p:', 'k', '\u0100'), storeKey('p:', 'k', '\u00100'));
    assert.doesNotMatch(storeKey('p:', 'k', 'x:lookup:y').slice('p:k:'.length), /:/);
  });

  it('replaces an over-long part by its hash, so keys stay bounded', () => {
    const long = storeKey('p:', 'k', 'a'.repeat(10_000));
    assert.match(long, /^p:k:#[0-9a-f]{64}$/);
    assert.equal(storeKey('p:', 'k', 'A'.repeat(10_000)), long, 'normalised before hashing');
    assert.ok(storeKey('p:', 'k', '%'.repeat(MAX_KEY_PART_CHARS)).length <= 'p:k:'.length + MAX_KEY_PART_CHARS + 1);
  });
});

/** Runs one SharedComputation per simulated replica over `store`, counting computations. */
function replicas(store: SharedStore, count: number, options: { lockTtlMs?: number; pollMs?: number } = {}) {
  const layers: CacheLayer[] = [];
  const list = Array.from(
    { length: count },
    () =>
      new SharedComputation<{ n: number }>({
        store,
        kind: 'test',
        encode: (value) => JSON.stringify(value),
        decode: (text) => JSON.parse(text) as { n: number },
        localTtlMs: 5_000,
        events: { onCacheLayer: (layer) => layers.push(layer) },
        ...options,
      }),
  );
  return { list, layers };
}

describe('shared computation (memory store)', () => {
  it('computes once for several replicas; the others read the result', async () => {
    const store = new MemoryStore();
    const { list, layers } = replicas(store, 3);
    let computations = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const compute = async () => {
      computations += 1;
      await gate;
      return { value: { n: 7 }, ttlMs: 60_000 };
    };
    const runs = list.map((replica) => replica.run('example.test', compute, { signal: new AbortController().signal, waitMs: 5_000 }));
    // Let every replica reach the store before the holder finishes.
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const results = await Promise.all(runs);
    assert.equal(computations, 1);
    assert.deepEqual(results.map((result) => result.value.n), [7, 7, 7]);
    assert.deepEqual([...layers].sort(), ['miss', 'shared', 'shared']);
    // Local TTL capped at localTtlMs.
    assert.ok(results.every((result) => result.ttlMs <= 5_000));
  });

  it('a dead lock holder blocks the key only until its lock lapses; then a waiter computes', async () => {
    const store = new MemoryStore();
    // A holder that died: it took the lock and will never renew or finish it.
    const dead = await store.acquire(store.key('test-lock', 'dead.test'), 300);
    assert.equal(dead.status, 'acquired');
    const { list } = replicas(store, 1, { pollMs: 50 });
    const started = performance.now();
    const result = await list[0]!.run('dead.test', async () => ({ value: { n: 1 }, ttlMs: 1_000 }), { signal: new AbortController().signal, waitMs: 5_000 });
    const waited = performance.now() - started;
    assert.equal(result.layer, 'miss');
    assert.ok(waited >= 250 && waited < 1_500, `waited ${waited} ms`);
  });

  it('never waits past its own deadline for a holder that keeps its lock', async () => {
    const store = new MemoryStore();
    await store.acquire(store.key('test-lock', 'slow.test'), 60_000);
    const { list } = replicas(store, 1, { pollMs: 50 });
    const started = performance.now();
    const result = await list[0]!.run('slow.test', async () => ({ value: { n: 2 }, ttlMs: 1_000 }), { signal: new AbortController().signal, waitMs: 200 });
    const waited = performance.now() - started;
    assert.equal(result.value.n, 2);
    assert.ok(waited >= 190 && waited < 1_000, `waited ${waited} ms`);
  });

  it('computes locally while the store is unavailable, and a failed computation frees the lock', async () => {
    const store = new MemoryStore();
    const { list } = replicas(store, 2);
    store.available = false;
    let computations = 0;
    const compute = async () => ({ value: { n: ++computations }, ttlMs: 1_000 });
    await list[0]!.run('a.test', compute, { signal: new AbortController().signal, waitMs: 1_000 });
    await list[1]!.run('a.test', compute, { signal: new AbortController().signal, waitMs: 1_000 });
    assert.equal(computations, 2);
    store.available = true;
    await assert.rejects(list[0]!.run('b.test', async () => Promise.reject(new Error('boom')), { signal: new AbortController().signal, waitMs: 1_000 }));
    assert.equal((await store.acquire(store.key('test-lock', 'b.test'), 1_000)).status, 'acquired');
  });

  it('fresh skips the stored value', async () => {
    const store = new MemoryStore();
    const { list } = replicas(store, 1);
    let computations = 0;
    const compute = async () => ({ value: { n: ++computations }, ttlMs: 60_000 });
    const signal = new AbortController().signal;
    await list[0]!.run('f.test', compute, { signal, waitMs: 1_000 });
    assert.equal((await list[0]!.run('f.test', compute, { signal, waitMs: 1_000 })).layer, 'shared');
    assert.equal((await list[0]!.run('f.test', compute, { signal, waitMs: 1_000, fresh: true })).value.n, 2);
    assert.equal((await list[0]!.run('f.test', compute, { signal, waitMs: 1_000 })).value.n, 2);
  });
});

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
      // The subscriber connects on its own; give it until it has subscribed (PUBSUB NUMSUB counts it).
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
    const states: boolean[] = [];
    let errors = 0;
    const store = new RedisStore({
      url: redis.url,
      prefix: 'unit:',
      timeoutMs: 200,
      log: silent,
      events: { onRedisState: (up) => states.push(up), onRedisError: () => (errors += 1) },
    });
    try {
      assert.equal(await store.ready(3_000), true);
      assert.deepEqual(states, [true]);
      await redis.stop();
      while (store.available) await new Promise((resolve) => setTimeout(resolve, 10));
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
    const states: boolean[] = [];
    let errors = 0;
    const store = new RedisStore({
      url: redis.url,
      prefix: 'unit:',
      timeoutMs: 100,
      probeIntervalMs: 50,
      log: silent,
      events: { onRedisState: (up) => states.push(up), onRedisError: () => (errors += 1) },
    });
    const pid = Number(/process_id:(\d+)/.exec(await redis.command('INFO', 'server'))?.[1]);
    try {
      assert.equal(await store.ready(3_000), true);
      process.kill(pid, 'SIGSTOP');
      const started = performance.now();
      assert.deepEqual(await store.get(store.key('c', 'y')), { status: 'unavailable' });
      assert.ok(performance.now() - started < 400, 'bounded by REDIS_TIMEOUT_MS');
      assert.equal(store.available, false);
      assert.equal(errors, 1);
      // Tripped: the next calls do not wait at all.
      const next = performance.now();
      assert.equal(await store.incr(store.key('n', 'y'), 1_000), null);
      assert.ok(performance.now() - next < 20);
      process.kill(pid, 'SIGCONT');
      while (!store.available) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(states, [true, false, true]);
    } finally {
      process.kill(pid, 'SIGCONT');
      await store.close();
    }
  });
});

