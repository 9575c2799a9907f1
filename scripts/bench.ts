// npm run bench — the lookup hot path (a cached provider-database answer) against a bare Fastify
// route that returns the same bytes, side by side in one run: autocannon, 100 connections, no
// pipelining, rounds alternated so that machine noise hits both alike. Loopback only. A 2 s
// warm-up of each, then 9 rounds of 3 s (BENCH_ROUNDS, BENCH_DURATION_S); per-round figures go to
// stderr, the medians and their ratio to stdout.
import os from 'node:os';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { createLogDestination } from '../src/logging/log.js';
import { loadProviderDb } from '../src/provider-db/provider-db.js';

const CONNECTIONS = 100;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const WARMUP_S = 2;
const PATH = '/v1/lookup?domain=gmail.com';

interface Round {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function load(url: string, durationS = DURATION_S): Promise<Round> {
  const result = await autocannon({ url, connections: CONNECTIONS, pipelining: 1, duration: durationS });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

// The service as it runs in production (src/server.ts): info-level request logs through pino's
// asynchronous destination (stdout there, /dev/null here), real providers.
// One load generator opens 100 connections from one address: the per-client connection cap (meant for strangers) is off here.
// METRICS=false in the environment measures the service without its metrics (default on, as in production).
const config = loadConfig({
  LOG_LEVEL: 'info',
  RATE_LIMIT_MAX: '1000000',
  CONNECTIONS_PER_CLIENT_MAX: '0',
  ...(process.env.METRICS !== undefined ? { METRICS: process.env.METRICS } : {}),
} as NodeJS.ProcessEnv);
const app = await buildApp(config, {
  providerDb: await loadProviderDb(),
  logStream: createLogDestination('/dev/null'),
});
await app.listen({ host: '127.0.0.1', port: 0 });
const appUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}${PATH}`;

// Warm the cache and capture the exact bytes the baseline will return.
const warm = await fetch(appUrl);
if (!warm.ok) throw new Error(`lookup failed: ${warm.status}`);
const bytes = await warm.text();

const bare = Fastify({ logger: false });
bare.get('/v1/lookup', async (_request, reply) => reply.type('application/json; charset=utf-8').send(bytes));
await bare.listen({ host: '127.0.0.1', port: 0 });
const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}${PATH}`;

// Both targets run the same Fastify code, so a short unmeasured run of each first lets the JIT
// settle; otherwise the first measured round of whichever goes first pays for it.
await load(bareUrl, WARMUP_S);
await load(appUrl, WARMUP_S);

const service: Round[] = [];
const baseline: Round[] = [];
for (let round = 0; round < ROUNDS; round += 1) {
  baseline.push(await load(bareUrl));
  service.push(await load(appUrl));
  // Per-round figures on stderr, to see the spread behind the medians.
  process.stderr.write(`round ${round + 1}: baseline ${Math.round(baseline[round]!.rps)} req/s, service ${Math.round(service[round]!.rps)} req/s\n`);
}
await app.close();
await bare.close();

const summary = (rounds: Round[]) => ({
  rps: Math.round(median(rounds.map((round) => round.rps))),
  p50: median(rounds.map((round) => round.p50)),
  p99: median(rounds.map((round) => round.p99)),
  errors: rounds.reduce((sum, round) => sum + round.errors + round.non2xx, 0),
});
const s = summary(service);
const b = summary(baseline);
const ratio = s.rps / b.rps;
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
console.log(`autocannon: ${CONNECTIONS} connections, no pipelining, ${WARMUP_S} s warm-up each, then ${ROUNDS} alternating rounds × ${DURATION_S} s, medians; body ${bytes.length} bytes`);
console.log('| target | req/s | p50 ms | p99 ms | errors |');
console.log('| --- | --- | --- | --- | --- |');
console.log(`| GET ${PATH} (service, cached) | ${s.rps} | ${s.p50} | ${s.p99} | ${s.errors} |`);
console.log(`| bare Fastify route, same bytes | ${b.rps} | ${b.p50} | ${b.p99} | ${b.errors} |`);
console.log(`ratio service/baseline req/s: ${ratio.toFixed(2)} (goal ≥ 0.80)`);
if (s.errors > 0) process.exitCode = 1;
