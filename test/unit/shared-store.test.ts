import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeKey, MAX_KEY_PART_CHARS } from '../../src/store/keys.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { SharedComputation } from '../../src/store/shared-compute.js';
import type { CacheLayer, SharedStore } from '../../src/store/types.js';

// The Redis store against a real redis-server: test/integration/redis-store.test.ts.

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
