// npm run bench — the lookup hot path (a cached provider-database answer) against a bare Fastify
// route that returns the same bytes, each in its own process, with the load generator (autocannon,
// in this process) in a third: no target shares an event loop with the load. The service runs as
// in production (`node dist/server.js`, info-level request logs to stdout, here /dev/null; the
// per-client caps meant for strangers off, since all the load comes from one address). Every round
// starts both targets afresh (a process's JIT state is one draw), warms each up, then loads them in
// turn, the first of the pair alternating so machine noise hits both alike; every round prints its
// ratio, and the median of the ratios is the result. Loopback only. BENCH_ROUNDS (9), BENCH_DURATION_S (3),
// BENCH_CONNECTIONS (100); METRICS=false measures the service without its metrics, and
// BENCH_LOG_LEVEL=warn without its request lines (the goal is measured with both on). Run `npm run
// build` first (npm run bench does).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const WARMUP_S = 2;
const HOST = '127.0.0.1';
const SERVICE_PORT = 18_081;
const BARE_PORT = 18_082;
const PATH = '/v1/lookup?domain=gmail.com';
const PIN = process.env.BENCH_PIN === '1';
if (PIN) spawnSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });

interface Round {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** The target's CPU time (user + system) per request, from /proc; NaN where /proc is missing. */
  cpuUs: number;
}

/** A process's CPU time so far in µs, from /proc/<pid>/stat (utime + stime, in clock ticks of 10 ms on Linux). */
function cpuMicros(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function load(url: string, target: ChildProcess, durationS = DURATION_S): Promise<Round> {
  const cpuBefore = cpuMicros(target.pid);
  const result = await autocannon({ url, connections: CONNECTIONS, pipelining: 1, duration: durationS });
  const cpuUs = (cpuMicros(target.pid) - cpuBefore) / Math.max(1, result.requests.total);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx, cpuUs };
}

/** Starts a target process and waits until it answers on its port. */
async function start(args: string[], env: NodeJS.ProcessEnv, port: number): Promise<ChildProcess> {
  // BENCH_PIN=1: each target on CPU 1, the load generator on CPU 0 (taskset), so the scheduler
  // cannot put a target and the load on one CPU for part of a round.
  const [command, commandArgs] = PIN ? ['taskset', ['-c', '1', process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(command, commandArgs, { env: { ...process.env, ...env, HOST, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
    const answer = await fetch(`http://${HOST}:${port}${PATH}`).catch(() => null);
    if (answer?.ok) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${args.join(' ')} did not answer on port ${port}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const serviceUrl = `http://${HOST}:${SERVICE_PORT}${PATH}`;
const bareUrl = `http://${HOST}:${BARE_PORT}${PATH}`;
const dir = mkdtempSync(join(os.tmpdir(), 'bench-'));
const bodyFile = join(dir, 'body.json');

/** Both targets, started afresh: the service, then the bare route with the bytes the service answers. */
async function startTargets(): Promise<{ service: ChildProcess; bare: ChildProcess; bytes: string }> {
  const service = await start(['dist/server.js'], {
    LOG_LEVEL,
    RATE_LIMIT_MAX: '1000000',
    CONNECTIONS_PER_CLIENT_MAX: '0',
    ...(process.env.METRICS !== undefined ? { METRICS: process.env.METRICS } : {}),
  }, SERVICE_PORT);
  // The exact bytes of the cached answer: the baseline returns them.
  const bytes = await (await fetch(serviceUrl)).text();
  writeFileSync(bodyFile, bytes);
  const bare = await start(['scripts/bench-bare.mjs'], { BENCH_BODY_FILE: bodyFile }, BARE_PORT);
  return { service, bare, bytes };
}

let running: ChildProcess[] = [];
let bytes = '';
try {
  const rounds: { service: Round; baseline: Round; ratio: number; cpuRatio: number }[] = [];
  for (let index = 0; index < ROUNDS; index += 1) {
    // Both targets start afresh every round: what V8 makes of a process's hot code is settled
    // during its warm-up and differs from one process to the next (README, Performance), so with
    // one process per target a whole run would be a single draw.
    const targets = await startTargets();
    const { service, bare } = targets;
    bytes = targets.bytes;
    running = [service, bare];
    // Both run Fastify: a short unmeasured run of each lets the JIT settle first.
    await load(bareUrl, bare, WARMUP_S);
    await load(serviceUrl, service, WARMUP_S);
    // Alternate which goes first, so neither always follows the other.
    const bareFirst = index % 2 === 0;
    const a = bareFirst ? await load(bareUrl, bare) : await load(serviceUrl, service);
    const b = bareFirst ? await load(serviceUrl, service) : await load(bareUrl, bare);
    await Promise.all(running.map(stop));
    running = [];
    const [baseline, measured] = bareFirst ? [a, b] : [b, a];
    const ratio = measured.rps / baseline.rps;
    const cpuRatio = baseline.cpuUs / measured.cpuUs;
    rounds.push({ service: measured, baseline, ratio, cpuRatio });
    console.log(
      `round ${index + 1}: baseline ${Math.round(baseline.rps)} req/s, service ${Math.round(measured.rps)} req/s, ratio ${ratio.toFixed(2)}; ` +
        `CPU µs/request baseline ${baseline.cpuUs.toFixed(1)}, service ${measured.cpuUs.toFixed(1)}, ratio ${cpuRatio.toFixed(2)}`,
    );
  }
  const summary = (list: Round[]) => ({
    rps: Math.round(median(list.map((round) => round.rps))),
    p50: median(list.map((round) => round.p50)),
    p99: median(list.map((round) => round.p99)),
    errors: list.reduce((sum, round) => sum + round.errors, 0),
  });
  const s = summary(rounds.map((round) => round.service));
  const b = summary(rounds.map((round) => round.baseline));
  const ratio = median(rounds.map((round) => round.ratio));
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg()[0]?.toFixed(1)}, Node ${process.version}`);
  console.log(
    `three processes (service, bare route, autocannon), ${CONNECTIONS} connections, no pipelining; ${ROUNDS} rounds, each with both targets started afresh, ` +
      `${WARMUP_S} s warm-up each, then ${DURATION_S} s each in alternating order; body ${bytes.length} bytes`,
  );
  console.log('| target | req/s | p50 ms | p99 ms | errors |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| GET ${PATH} (service, cached, ${LOG_LEVEL} logs, metrics ${process.env.METRICS ?? 'on'}) | ${s.rps} | ${s.p50} | ${s.p99} | ${s.errors} |`);
  console.log(`| bare Fastify route, same bytes | ${b.rps} | ${b.p50} | ${b.p99} | ${b.errors} |`);
  console.log(`ratio service/baseline req/s, median of the rounds' ratios: ${ratio.toFixed(2)} (goal ≥ 0.80)`);
  const cpu = (list: Round[]) => median(list.map((round) => round.cpuUs)).toFixed(1);
  console.log(
    `CPU per request (/proc), medians: baseline ${cpu(rounds.map((round) => round.baseline))} µs, service ${cpu(rounds.map((round) => round.service))} µs, ` +
      `ratio baseline/service ${median(rounds.map((round) => round.cpuRatio)).toFixed(2)}`,
  );
  if (s.errors > 0 || b.errors > 0) process.exitCode = 1;
} finally {
  await Promise.all(running.map(stop));
  rmSync(dir, { recursive: true, force: true });
}
