import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoalescingCache } from '../../src/cache/coalescing-cache.js';

class FakeClock {
  time = 1_000;
  now(): number {
    return this.time;
  }
}

function makeCache(clock = new FakeClock()) {
  return new CoalescingCache<{ n: number }>({ maxEntries: 100, maxBytes: 10_000, sizeOf: () => 10, clock });
}

describe('coalescing cache', () => {
  it('serves a hit without computing again, and says so', async () => {
    const cache = makeCache();
    let calls = 0;
    const compute = async () => ({ value: { n: ++calls }, ttlMs: 60_000 });
    assert.deepEqual(await cache.get('k', compute), { value: { n: 1 }, cached: false });
    assert.deepEqual(await cache.get('k', compute), { value: { n: 1 }, cached: true });
    assert.equal(calls, 1);
  });

  it('expires entries after their TTL on the given clock', async () => {
    const clock = new FakeClock();
    const cache = makeCache(clock);
    let calls = 0;
    const compute = async () => ({ value: { n: ++calls }, ttlMs: 5_000 });
    await cache.get('k', compute);
    clock.time += 4_999;
    assert.equal((await cache.get('k', compute)).cached, true);
    clock.time += 2;
    assert.deepEqual(await cache.get('k', compute), { value: { n: 2 }, cached: false });
  });

  it('does not store results with a zero TTL', async () => {
    const cache = makeCache();
    let calls = 0;
    const compute = async () => ({ value: { n: ++calls }, ttlMs: 0 });
    await cache.get('k', compute);
    await cache.get('k', compute);
    assert.equal(calls, 2);
  });

  it('runs one computation for 1,000 concurrent callers', async () => {
    const cache = makeCache();
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const compute = async () => {
      calls += 1;
      await gate;
      return { value: { n: 42 }, ttlMs: 1_000 };
    };
    const all = Promise.all(Array.from({ length: 1_000 }, () => cache.get('k', compute, { signal: new AbortController().signal })));
    assert.equal(cache.inFlight, 1);
    release();
    const results = await all;
    assert.equal(calls, 1);
    assert.ok(results.every((result) => result.value.n === 42));
  });

  it('aborts the shared computation only when every caller has left', async () => {
    const cache = makeCache();
    let seen: AbortSignal | undefined;
    // A computation that never ends by itself: only its signal can stop it.
    const compute = (signal: AbortSignal) =>
      new Promise<{ value: { n: number }; ttlMs: number }>((_resolve, reject) => {
        seen = signal;
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    const first = new AbortController();
    const second = new AbortController();
    const a = cache.get('k', compute, { signal: first.signal });
    const b = cache.get('k', compute, { signal: second.signal });
    first.abort(new Error('gone'));
    await assert.rejects(a, /gone/);
    assert.equal(seen?.aborted, false, 'one caller leaving must not cancel the other');
    second.abort(new Error('gone too'));
    await assert.rejects(b, /gone too/);
    assert.equal(seen?.aborted, true, 'the last caller leaving cancels the work');
  });

  it('bounds the number of entries', async () => {
    const cache = new CoalescingCache<{ n: number }>({ maxEntries: 3, maxBytes: 10_000, sizeOf: () => 1 });
    for (let i = 0; i < 10; i += 1) await cache.get(`k${i}`, async () => ({ value: { n: i }, ttlMs: 60_000 }));
    assert.equal(cache.size, 3);
  });

  it('bounds the bytes held', async () => {
    const cache = new CoalescingCache<{ n: number }>({ maxEntries: 100, maxBytes: 1_000, sizeOf: () => 400 });
    for (let i = 0; i < 10; i += 1) await cache.get(`k${i}`, async () => ({ value: { n: i }, ttlMs: 60_000 }));
    assert.equal(cache.size, 2);
  });

  it('does not cache a failure', async () => {
    const cache = makeCache();
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new Error('boom');
    };
    await assert.rejects(cache.get('k', failing), /boom/);
    await assert.rejects(cache.get('k', failing), /boom/);
    assert.equal(calls, 2);
    assert.equal(cache.inFlight, 0);
  });
});
