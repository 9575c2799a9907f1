import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Log } from '../logging/log.js';
import { storeKey } from './keys.js';
import { waitForNotice } from './memory-store.js';
import type { CacheRead, CounterRead, LockAttempt, SharedStore, StoreEvents } from './types.js';

/** Options of the Redis store (REDIS_URL, REDIS_PREFIX, REDIS_TIMEOUT_MS). */
export interface RedisStoreOptions {
  /** `redis://` or `rediss://` (TLS) URL; a password in it is used and never logged. */
  url: string;
  prefix: string;
  /** Time limit of one Redis call; a call over it counts as a failure and trips the breaker. */
  timeoutMs: number;
  log: Log;
  events?: StoreEvents;
  /** How often a tripped store pings Redis to find out whether it is back (default 500 ms). */
  probeIntervalMs?: number;
}

/** Stores a result (when ARGV[4] is not empty), releases the lock if the token still holds it, and announces it. */
const FINISH_SCRIPT = `
if ARGV[4] ~= '' then redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;

/** Extends a lock only while the token still holds it. */
const EXTEND_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/** One count in a fixed window that starts with the first count (a key left without expiry gets one). */
const INCR_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
local t = redis.call('PTTL', KEYS[1])
if n == 1 or t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end
return {n, t}`;

/** The stored value and its lifetime, else the lock: taken (with the token in ARGV[1]) or held by another. */
const CLAIM_SCRIPT = `
local value = redis.call('GET', KEYS[1])
if value then return {1, value, redis.call('PTTL', KEYS[1])} end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {2} end
return {3}`;

/** A value and its remaining lifetime in one round trip. */
const GET_SCRIPT = `return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}`;

interface Scripted {
  msFinish(lock: string, cacheKey: string, token: string, channel: string, notice: string, text: string, ttlMs: number): Promise<unknown>;
  msExtend(lock: string, token: string, ttlMs: number): Promise<number>;
  msIncr(key: string, windowMs: number): Promise<[number, number]>;
  msGet(key: string): Promise<[string | null, number]>;
  msClaim(cacheKey: string, lockKey: string, token: string, ttlMs: number): Promise<[1, string, number] | [2] | [3]>;
}

/** What #call returns when Redis could not be asked or did not answer in time. */
const FAILED = Symbol('failed');

/**
 * The shared store on Redis (≥ 6) or Valkey, through ioredis. Every call has its own time limit
 * (REDIS_TIMEOUT_MS) and fails at once while disconnected (no offline queue), so a request never
 * waits on a missing Redis longer than that; a timed-out call trips a breaker that keeps every call
 * local until a ping answers again. State changes are logged once each and reported to the events.
 * Security: Redis is infrastructure the operator names (REDIS_URL), not a target chosen by untrusted
 * input, so the connection does not go through the outbound address policy; keys are built with
 * storeKey (escaped, bounded). What it holds is trusted like this process's memory: keep it private.
 */
export class RedisStore implements SharedStore {
  readonly prefix: string;
  readonly #options: RedisStoreOptions;
  readonly #client: Redis & Scripted;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #waiters = new Map<string, Set<() => void>>();
  #connected = false;
  #tripped = false;
  #up: boolean | null = null;
  #probe: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    this.#options = options;
    this.prefix = options.prefix;
    this.#channel = `${options.prefix}finished`;
    const common: RedisOptions = {
      // Reconnect for ever, backing off to one try a second: sharing resumes by itself.
      retryStrategy: (times) => Math.min(100 * times, 1_000),
      connectTimeout: Math.max(1_000, options.timeoutMs * 10),
      maxRetriesPerRequest: 0,
    };
    // ioredis's own command timeout is only a backstop that drops calls stuck in a stalled Redis;
    // the time limit that matters is #call's (see there).
    this.#client = new Redis(options.url, { ...common, enableOfflineQueue: false, commandTimeout: Math.max(options.timeoutMs * 10, 2_000) }) as Redis & Scripted;
    this.#client.defineCommand('msFinish', { numberOfKeys: 2, lua: FINISH_SCRIPT });
    this.#client.defineCommand('msExtend', { numberOfKeys: 1, lua: EXTEND_SCRIPT });
    this.#client.defineCommand('msIncr', { numberOfKeys: 1, lua: INCR_SCRIPT });
    this.#client.defineCommand('msGet', { numberOfKeys: 1, lua: GET_SCRIPT });
    this.#client.defineCommand('msClaim', { numberOfKeys: 2, lua: CLAIM_SCRIPT });
    this.#client.on('ready', () => this.#setConnected(true));
    this.#client.on('close', () => this.#setConnected(false));
    // Connection errors are reported through the state change; the details go to debug logs.
    this.#client.on('error', (error: Error) => options.log.debug({ err: error.message }, 'redis connection error'));
    // Finish notices arrive on their own connection (a subscribed connection can do nothing else),
    // which subscribes each time it is ready. Not ioredis's autoResubscribe: it does not catch its
    // SUBSCRIBE, so a connection closing before the reply (a restart, or close() during a
    // reconnect) became an unhandled rejection, which ends a Node process.
    this.#subscriber = new Redis(options.url, { ...common, enableOfflineQueue: true, autoResubscribe: false });
    this.#subscriber.on('error', (error: Error) => options.log.debug({ err: error.message }, 'redis subscriber error'));
    this.#subscriber.on('message', (_channel: string, notice: string) => {
      for (const wake of [...(this.#waiters.get(notice) ?? [])]) wake();
    });
    this.#subscriber.on('ready', () => {
      this.#subscriber.subscribe(this.#channel).catch(() => undefined);
    });
  }

  /** Whether calls go to Redis now: connected, and the last call did not time out (or a ping since did answer). */
  get available(): boolean {
    return this.#connected && !this.#tripped;
  }

  key(kind: string, raw: string): string {
    return storeKey(this.prefix, kind, raw);
  }

  /** Resolves true once Redis is ready, or false after waitMs (start-up waits a little so a fleet shares from the first request). */
  ready(waitMs: number): Promise<boolean> {
    if (this.available) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.#client.removeListener('ready', onReady);
        resolve(value);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), waitMs);
      this.#client.once('ready', onReady);
    });
  }

  async get(key: string): Promise<CacheRead> {
    const reply = await this.#call(() => this.#client.msGet(key));
    if (reply === FAILED) return { status: 'unavailable' };
    const [value, ttlMs] = reply;
    return value === null ? { status: 'miss' } : { status: 'hit', value, ttlMs: Math.max(1, ttlMs) };
  }

  async set(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.#call(() => this.#client.set(key, value, 'PX', Math.max(1, Math.round(ttlMs))))) !== FAILED;
  }

  async acquire(key: string, ttlMs: number): Promise<LockAttempt> {
    const token = randomUUID();
    const reply = await this.#call(() => this.#client.set(key, token, 'PX', Math.max(1, Math.round(ttlMs)), 'NX'));
    if (reply === FAILED) return { status: 'unavailable' };
    return reply === 'OK' ? { status: 'acquired', token } : { status: 'held' };
  }

  async claim(cacheKey: string, lockKey: string, ttlMs: number): Promise<CacheRead | LockAttempt> {
    const token = randomUUID();
    const reply = await this.#call(() => this.#client.msClaim(cacheKey, lockKey, token, Math.max(1, Math.round(ttlMs))));
    if (reply === FAILED) return { status: 'unavailable' };
    if (reply[0] === 1) return { status: 'hit', value: reply[1], ttlMs: Math.max(1, Number(reply[2])) };
    return reply[0] === 2 ? { status: 'acquired', token } : { status: 'held' };
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    const reply = await this.#call(() => this.#client.msExtend(key, token, Math.max(1, Math.round(ttlMs))));
    return reply !== FAILED && reply === 1;
  }

  async finish(key: string, token: string, value?: { cacheKey: string; text: string; ttlMs: number }): Promise<void> {
    const ttlMs = Math.max(1, Math.round(value?.ttlMs ?? 1));
    await this.#call(() => this.#client.msFinish(key, value?.cacheKey ?? key, token, this.#channel, key, value?.text ?? '', ttlMs));
  }

  waitForFinish(key: string, waitMs: number, signal?: AbortSignal): Promise<void> {
    return waitForNotice(this.#waiters, key, waitMs, signal);
  }

  async incr(key: string, windowMs: number): Promise<CounterRead | null> {
    const reply = await this.#call(() => this.#client.msIncr(key, Math.max(1, Math.round(windowMs))));
    if (reply === FAILED) return null;
    return { count: Number(reply[0]), ttlMs: Math.max(1, Number(reply[1])) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probe) clearInterval(this.#probe);
    this.#client.disconnect();
    this.#subscriber.disconnect();
    for (const set of this.#waiters.values()) for (const wake of [...set]) wake();
  }

  /**
   * Runs one Redis call unless the store is unavailable; a failure or a call over REDIS_TIMEOUT_MS
   * is reported and returned as FAILED. The time limit is judged after the event loop has read
   * whatever arrived meanwhile (the timer's verdict waits for one setImmediate, which runs after the
   * poll phase): a replica whose own event loop was busy must not blame Redis for a reply that was
   * already there, or it would stop sharing under load.
   */
  #call<T>(run: () => Promise<T>): Promise<T | typeof FAILED> {
    if (!this.available) return Promise.resolve(FAILED);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (value: T | typeof FAILED, failure?: 'error' | 'timeout') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (failure) {
          this.#options.events?.onRedisError?.();
          // A timeout on a live connection means Redis is slow (or stopped): stop asking until a ping answers.
          if (failure === 'timeout') this.#trip();
        }
        resolve(value);
      };
      const timer = setTimeout(() => setImmediate(() => settle(FAILED, 'timeout')), this.#options.timeoutMs);
      run().then(
        (value) => settle(value),
        (error: unknown) => settle(FAILED, error instanceof Error && /timed out/i.test(error.message) ? 'timeout' : 'error'),
      );
    });
  }

  #trip(): void {
    if (this.#tripped || this.#closed) return;
    this.#tripped = true;
    this.#report('redis calls time out');
    this.#probe = setInterval(() => {
      this.#client.ping().then(
        () => {
          if (this.#probe) clearInterval(this.#probe);
          this.#probe = null;
          this.#tripped = false;
          this.#report('redis answers again');
        },
        () => undefined,
      );
    }, this.#options.probeIntervalMs ?? 500);
    this.#probe.unref();
  }

  #setConnected(connected: boolean): void {
    this.#connected = connected;
    this.#report(connected ? 'connected' : 'connection closed');
  }

  /** Logs and reports a change of availability, once per change. */
  #report(reason: string): void {
    const up = this.available;
    if (up === this.#up || this.#closed) return;
    const first = this.#up === null;
    this.#up = up;
    this.#options.events?.onRedisState?.(up);
    if (up && first) this.#options.log.info({ redis: 'up' }, 'shared store connected: state is shared with the fleet');
    else if (up) this.#options.log.warn({ redis: 'up', reason }, 'shared store available again: sharing resumes');
    else this.#options.log.warn({ redis: 'down', reason }, 'shared store unavailable: answering from this replica\'s own state');
  }
}
