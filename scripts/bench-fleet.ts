// npm run bench:fleet — one replica against three replicas sharing one Redis, on loopback only
// (127.0.23.0/24; needs root, dnsmasq and redis-server: scripts/install-test-deps.sh).
//  - the world: dnsmasq on 127.0.23.53:5423 (hot.bench.test has an _imaps._tcp SRV record; every
//    other name under bench.test is NXDOMAIN), redis-server on 127.0.23.3:6425;
//  - the service processes (`node --import tsx src/server.ts`, LOG_LEVEL=warn): one without Redis
//    (127.0.23.21) and one with it (127.0.23.22) for the hot-path ratio, then three with Redis
//    (127.0.23.11-13) and three without (127.0.23.31-33) for the new-domain stream;
//  - the load generator: autocannon, in a process of its own (this script run with --load), never
//    inside a measured process.
// Hot path: GET /v1/lookup?domain=hot.bench.test (cached), BENCH_ROUNDS alternating rounds of
// BENCH_DURATION_S s; the ratio (with Redis / without) per round and its median. New domains: every
// request a domain never seen before, each one asked of every replica of the fleet (so a fleet
// that does not share discovers it once per replica); discoveries per new domain are counted in
// dnsmasq's query log, Redis round trips from its command counter.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDnsmasq, type Dnsmasq } from '../test/helpers/dnsmasq-server.js';
import { get, startReplica, type Replica } from '../test/helpers/fleet.js';
import { startRedis, type RedisServer } from '../test/helpers/redis.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 5);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 20);
const HOT_PATH = '/v1/lookup?domain=hot.bench.test';

/** What one load run asks for (passed to the --load child as JSON). */
interface LoadSpec {
  url: string;
  connections: number;
  durationS: number;
  /** When set, each request asks for `<prefix><n>.bench.test`, n = 0, 1, 2 … (a new domain each time). */
  newDomainPrefix?: string;
}

/** What one load run measured. */
interface LoadResult {
  requests: number;
  rps: number;
  p99: number;
  status5xx: number;
  errors: number;
  /** New domains asked for (new-domain runs). */
  domains: number;
}

/** The --load child: runs autocannon in this process (not a measured one) and prints its figures as JSON. */
async function runLoad(spec: LoadSpec): Promise<void> {
  const { default: autocannon } = await import('autocannon');
  type Request = import('autocannon').Request;
  let next = 0;
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationS,
    ...(spec.newDomainPrefix
      ? { requests: [{ setupRequest: (request: Request): Request => ({ ...request, path: `/v1/lookup?domain=${spec.newDomainPrefix}${next++}.bench.test` }) }] }
      : { requests: [{ path: HOT_PATH }] }),
  });
  const out: LoadResult = {
    requests: result.requests.total,
    rps: result.requests.average,
    p99: result.latency.p99,
    status5xx: result['5xx'],
    errors: result.errors + result.timeouts,
    domains: next,
  };
  process.stdout.write(JSON.stringify(out));
}

/** One load run in its own process. */
function load(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--load', JSON.stringify(spec)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited ${code}`))));
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Service settings of the benchmark: limits off (the load comes from one address), quiet logs. */
function replicaEnv(dnsmasq: Dnsmasq, redis: RedisServer | null): Record<string, string> {
  return {
    ...(redis ? { REDIS_URL: redis.url, REDIS_PREFIX: 'bench:' } : {}),
    DNS_SERVERS: dnsmasq.server,
    DNS_TIMEOUT_MS: '500',
    DNS_TRIES: '1',
    RATE_LIMIT_MAX: '1000000',
    DISCOVERY_PER_CLIENT_MAX: '10000',
    DISCOVERY_CONCURRENCY: '10000',
    CONNECTIONS_PER_CLIENT_MAX: '0',
  };
}

/** Hot path: alternating rounds of one replica without and one with Redis; the median ratio. */
async function hotPath(plain: Replica, shared: Replica): Promise<void> {
  const ratios: number[] = [];
  console.log(`\nhot path: GET ${HOT_PATH} (cached), ${CONNECTIONS} connections, ${ROUNDS} alternating rounds x ${DURATION_S} s`);
  console.log('| round | without Redis req/s | p99 ms | with REDIS_URL req/s | p99 ms | ratio |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (let round = 1; round <= ROUNDS; round += 1) {
    const order = round % 2 ? [plain, shared] : [shared, plain];
    const results = new Map<Replica, LoadResult>();
    for (const replica of order) results.set(replica, await load({ url: `${replica.url}${HOT_PATH}`, connections: CONNECTIONS, durationS: DURATION_S }));
    const a = results.get(plain)!;
    const b = results.get(shared)!;
    ratios.push(b.rps / a.rps);
    console.log(`| ${round} | ${a.rps.toFixed(0)} | ${a.p99} | ${b.rps.toFixed(0)} | ${b.p99} | ${(b.rps / a.rps).toFixed(3)} |`);
  }
  console.log(`median ratio (with REDIS_URL / without): ${median(ratios).toFixed(3)}`);
}

/** Counts the discoveries dnsmasq saw for domains with `prefix` (one `_imaps._tcp` SRV question each). */
function discoveries(dnsmasq: Dnsmasq, prefix: string): number {
  return dnsmasq.log().split('\n').filter((line) => line.includes(`query[SRV] _imaps._tcp.${prefix}`)).length;
}

/** Load on every replica of a group at once: hot path or a stream of new domains shared by all of them. */
async function groupRun(name: string, group: Replica[], dnsmasq: Dnsmasq, redis: RedisServer, prefix?: string): Promise<void> {
  const before = await redis.commandsProcessed();
  const connections = Math.max(1, Math.round(CONNECTIONS / group.length));
  const results = await Promise.all(
    group.map((replica) =>
      load({ url: `${replica.url}${HOT_PATH}`, connections, durationS: DURATION_S, ...(prefix ? { newDomainPrefix: prefix } : {}) }),
    ),
  );
  // The INFO call itself counts as one command.
  const roundTrips = (await redis.commandsProcessed()) - before - 1;
  const requests = results.reduce((sum, result) => sum + result.requests, 0);
  const rps = results.reduce((sum, result) => sum + result.rps, 0);
  const p99 = Math.max(...results.map((result) => result.p99));
  const bad = results.reduce((sum, result) => sum + result.status5xx + result.errors, 0);
  const domains = prefix ? Math.max(...results.map((result) => result.domains)) : 0;
  const perDomain = prefix ? (discoveries(dnsmasq, prefix) / domains).toFixed(2) : '-';
  console.log(`| ${name} | ${rps.toFixed(0)} | ${p99} | ${bad} | ${perDomain} | ${(roundTrips / requests).toFixed(3)} |`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:fleet needs root (dnsmasq, redis-server)');
  const dnsmasq = await startDnsmasq('127.0.23.53', 5423, {
    hosts: { 'imap.hot.bench.test': ['127.0.23.40'] },
    srv: { '_imaps._tcp.hot.bench.test': [{ target: 'imap.hot.bench.test', port: 993, priority: 0, weight: 0 }] },
  });
  const redis = await startRedis('127.0.23.3', 6425);
  const replicas: Replica[] = [];
  try {
    const plainEnv = replicaEnv(dnsmasq, null);
    const sharedEnv = replicaEnv(dnsmasq, redis);
    const start = async (address: string, env: Record<string, string>) => {
      const replica = await startReplica(address, 8425, env);
      replicas.push(replica);
      // Warm: the answer is cached and the route compiled before anything is measured.
      for (let i = 0; i < 50; i += 1) await get(replica.url, HOT_PATH);
      return replica;
    };
    const plain = await start('127.0.23.21', plainEnv);
    const shared = await start('127.0.23.22', sharedEnv);
    await hotPath(plain, shared);
    await Promise.all(replicas.map((replica) => replica.stop()));
    replicas.length = 0;

    const single = [await start('127.0.23.21', plainEnv)];
    const fleet = await Promise.all(['127.0.23.11', '127.0.23.12', '127.0.23.13'].map((address) => start(address, sharedEnv)));
    const alone = await Promise.all(['127.0.23.31', '127.0.23.32', '127.0.23.33'].map((address) => start(address, plainEnv)));
    console.log(`\nevery replica of a group loaded at once (${CONNECTIONS} connections in all), ${DURATION_S} s each`);
    console.log('| setting | req/s (sum) | p99 ms (worst) | 5xx + errors | discoveries per new domain | Redis round trips per lookup |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    await groupRun('1 replica, no Redis: hot', single, dnsmasq, redis);
    await groupRun('3 replicas + Redis: hot', fleet, dnsmasq, redis);
    await groupRun('3 replicas, no Redis: hot', alone, dnsmasq, redis);
    await groupRun('1 replica, no Redis: new domains', single, dnsmasq, redis, 'one-');
    await groupRun('3 replicas + Redis: new domains', fleet, dnsmasq, redis, 'fleet-');
    await groupRun('3 replicas, no Redis: new domains', alone, dnsmasq, redis, 'alone-');
  } finally {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await redis.close();
    await dnsmasq.stop();
  }
}

const loadIndex = process.argv.indexOf('--load');
if (loadIndex >= 0) await runLoad(JSON.parse(process.argv[loadIndex + 1] ?? '{}') as LoadSpec);
else await main();
