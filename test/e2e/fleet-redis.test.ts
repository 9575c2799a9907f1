import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { lookupResultSchema } from '../../src/api/schemas.js';
import { startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq-server.js';
import { get, startReplica, type Replica } from '../helpers/fleet.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

// This file's loopback world (127.0.23.0/24): dnsmasq 127.0.23.53:5423, redis-server
// 127.0.23.2:6424, three service processes 127.0.23.11-13:8423, a check target with nothing
// listening 127.0.23.40, clients 127.0.23.100-199 (load), .201 (lookup limit).
const DNS_ADDRESS = '127.0.23.53';
const DNS_PORT = 5423;
const REDIS_ADDRESS = '127.0.23.2';
const REDIS_PORT = 6424;
const REPLICA_ADDRESSES = ['127.0.23.11', '127.0.23.12', '127.0.23.13'];
const REPLICA_PORT = 8423;
const TARGET = '127.0.23.40';
const RATE_LIMIT_MAX = 20;
/** Client addresses the load's new-domain requests take in turn (not .100–.199 of the other workers, nor .201 of the limit test). */
const LOAD_CLIENTS = [...Array.from({ length: 98 }, (_, i) => `127.0.23.${2 + i}`), ...Array.from({ length: 49 }, (_, i) => `127.0.23.${202 + i}`)];
const CHECK_TARGET_LIMIT_MAX = 4;

const available = existsSync('/usr/sbin/dnsmasq') && existsSync('/usr/bin/redis-server') && process.getuid?.() === 0;

/** Domains with an `_imaps._tcp` SRV record (found by the srv source); anything else under fleet.test is NXDOMAIN. */
const FOUND = ['one', 'again', 'hot'].map((name) => `${name}.fleet.test`);

describe('a fleet of three replicas sharing one real Redis', { skip: !available && 'needs dnsmasq, redis-server and root' }, () => {
  let dnsmasq: Dnsmasq;
  let redis: RedisServer;
  let replicas: Replica[] = [];

  before(async () => {
    dnsmasq = await startDnsmasq(DNS_ADDRESS, DNS_PORT, {
      hosts: { 'imap.target.fleet.test': [TARGET], ...Object.fromEntries(FOUND.map((domain) => [`imap.${domain}`, [TARGET]])) },
      srv: Object.fromEntries(FOUND.map((domain) => [`_imaps._tcp.${domain}`, [{ target: `imap.${domain}`, port: 993, priority: 0, weight: 0 }]])),
    });
    redis = await startRedis(REDIS_ADDRESS, REDIS_PORT);
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'fleet-e2e:',
      DNS_SERVERS: dnsmasq.server,
      DNS_TIMEOUT_MS: '500',
      DNS_TRIES: '1',
      PROBE_ALLOW_CIDRS: '127.0.23.0/24',
      RATE_LIMIT_MAX: String(RATE_LIMIT_MAX),
      CHECK_TARGET_LIMIT_MAX: String(CHECK_TARGET_LIMIT_MAX),
      CHECK_RATE_LIMIT_MAX: '1000',
      CHECK_TIMEOUT_MS: '1000',
      // The test is one client standing for many: 300 concurrent lookups may open up to 100
      // connections to a replica, past the per-client connection cap meant for strangers.
      CONNECTIONS_PER_CLIENT_MAX: '0',
    };
    replicas = await Promise.all(REPLICA_ADDRESSES.map((address) => startReplica(address, REPLICA_PORT, env)));
  });

  after(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await redis?.close();
    await dnsmasq?.stop();
  });

  /** The replicas' warnings (state changes of the shared store), for failure messages. */
  const warnings = () => replicas.map((replica) => replica.output().split('\n').filter((line) => line.includes('"level":40')).join('\n')).join('\n');

  /** DNS questions dnsmasq was asked for the SRV name that only a discovery of `domain` asks. */
  const discoveriesOf = (domain: string) => dnsmasq.log().split('\n').filter((line) => line.includes(`query[SRV] _imaps._tcp.${domain} `)).length;

  it('discovers a new domain exactly once for 300 concurrent lookups spread over the three', { timeout: 60_000 }, async () => {
    const responses = await Promise.all(
      Array.from({ length: 300 }, (_, i) => get(replicas[i % 3]!.url, '/v1/lookup?domain=one.fleet.test', `127.0.23.${100 + (i % 100)}`)),
    );
    assert.deepEqual(new Set(responses.map((response) => response.status)), new Set([200]));
    for (const response of responses) assert.equal(lookupResultSchema.parse(JSON.parse(response.body)).incoming[0]?.host, 'imap.one.fleet.test');
    assert.equal(discoveriesOf('one.fleet.test'), 1, warnings());
  });

  it('limits a client over its lookup limit on one replica on the others too', async () => {
    const client = '127.0.23.201';
    for (let i = 0; i < RATE_LIMIT_MAX; i += 1) {
      const response = await get(replicas[0]!.url, `/v1/lookup?domain=limit${i}.fleet.test`, client);
      assert.equal(response.status, 404, response.body);
    }
    for (const replica of replicas) {
      const response = await get(replica.url, '/v1/lookup?domain=limit-over.fleet.test', client);
      assert.equal(response.status, 429, response.body);
      assert.match(response.body, /"code":"rate_limited"/);
    }
  });

  it('holds the per-target live-check limit across replicas', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3 * CHECK_TARGET_LIMIT_MAX; i += 1) {
      const response = await get(replicas[i % 3]!.url, '/v1/check?host=imap.target.fleet.test&port=993&protocol=imap&security=tls&fresh=true', '127.0.23.202');
      statuses.push(response.status);
      if (response.status === 200) assert.equal(JSON.parse(response.body).error?.code, 'connect_refused');
    }
    // Each replica alone would allow CHECK_TARGET_LIMIT_MAX connections: 3x that in all.
    assert.equal(statuses.filter((status) => status === 200).length, CHECK_TARGET_LIMIT_MAX, statuses.join(','));
    assert.equal(statuses.filter((status) => status === 429).length, 2 * CHECK_TARGET_LIMIT_MAX);
  });

  it('keeps answering with no 5xx while Redis is stopped mid-load, and shares again once it is back', { timeout: 90_000 }, async () => {
    const results: { sent: number; at: number; status: number }[] = [];
    const errors: string[] = [];
    const started = performance.now();
    const LOAD_MS = 7_000;
    let stoppedAt = Infinity;
    let restartedAt = Infinity;
    const worker = async (w: number) => {
      for (let n = 0; performance.now() - started < LOAD_MS; n += 1) {
        // Two workers in three ask for cached answers, the others for a new domain each time (a
        // discovery). New domains come from many client addresses in turn: the test is about Redis
        // going away, not the per-client limit (RATE_LIMIT_MAX), which a fast machine would reach.
        const discovering = w % 3 === 0;
        const client = discovering ? LOAD_CLIENTS[(w * 40 + n) % LOAD_CLIENTS.length]! : `127.0.23.${100 + w}`;
        const path = discovering ? `/v1/lookup?domain=load${w}-${n}.fleet.test` : '/v1/lookup?domain=one.fleet.test';
        const sent = performance.now();
        try {
          const response = await get(replicas[(w + n) % 3]!.url, path, client);
          results.push({ sent, at: performance.now(), status: response.status });
        } catch (error) {
          errors.push((error as Error).message);
        }
      }
    };
    // The outage under test, in real time: Redis stops 1.5 s into the 7 s load and stays down 3 s,
    // so every second of it can be checked for answers.
    const control = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await redis.stop();
      stoppedAt = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await redis.start();
      restartedAt = performance.now();
    })();
    await Promise.all([control, ...Array.from({ length: 24 }, (_, w) => worker(w))]);
    const rate = (results.length / (LOAD_MS / 1000)).toFixed(0);
    process.stdout.write(`# load: ${results.length} answers (${rate}/s), ${results.filter((result) => result.sent > stoppedAt && result.sent < restartedAt).length} sent while Redis was stopped\n`);
    assert.deepEqual(errors, []);
    assert.deepEqual(results.filter((result) => result.status >= 500), []);
    assert.ok(results.every((result) => result.status === 200 || result.status === 404), `statuses: ${[...new Set(results.map((result) => result.status))]}`);
    // Answers keep coming: requests sent while Redis was stopped were answered (none above is an
    // error or a 5xx), cached ones and new discoveries alike, in every second of the outage.
    const sentDuringOutage = results.filter((result) => result.sent > stoppedAt && result.sent < restartedAt);
    for (let from = stoppedAt; from + 1_000 <= restartedAt; from += 1_000) {
      assert.ok(sentDuringOutage.some((result) => result.sent >= from && result.sent < from + 1_000), `no request answered that was sent ${Math.round(from - stoppedAt)}-${Math.round(from - stoppedAt) + 1_000} ms into the outage`);
    }
    assert.ok(sentDuringOutage.some((result) => result.status === 200), 'cached answers during the outage');
    assert.ok(sentDuringOutage.some((result) => result.status === 404), 'new domains were discovered locally during the outage');

    // Each replica warned once that Redis went away and once that it is back (when it reconnected).
    for (const replica of replicas) {
      await replica.waitFor(/shared store available again/);
      const lines = replica.output().split('\n');
      assert.ok(lines.filter((line) => line.includes('shared store unavailable')).length >= 1, replica.output());
      assert.ok(lines.filter((line) => line.includes('shared store available again')).length >= 1, replica.output());
    }
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => get(replicas[i % 3]!.url, '/v1/lookup?domain=again.fleet.test', `127.0.23.${150 + i}`)),
    );
    assert.deepEqual(new Set(responses.map((response) => response.status)), new Set([200]));
    assert.equal(discoveriesOf('again.fleet.test'), 1, `sharing resumed: one discovery for the fleet\n${warnings()}`);
  });
});
