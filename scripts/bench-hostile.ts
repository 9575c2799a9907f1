// npm run bench:hostile — cached-lookup latency while one hostile client makes the service read
// hostile documents. Four kinds of process, so that only the service's own work is measured:
//  - the service (`node --import tsx src/server.ts`, as in production: info logs to a file);
//  - a world process: an HTTPS (and HTTP) server on 127.0.6.40 serving, for every hostile domain,
//    the worst document at the autoconfig host, the well-known location, the Autodiscover endpoint,
//    plain-HTTP autoconfig and the two autoconfig hosts reached via MX (five documents per lookup
//    before the caps); the documents name no usable server, so no source ends the search early;
//  - the hostile client: a new domain every second, i.e. the default rate limit (RATE_LIMIT_MAX 60/min);
//  - the load generator: autocannon on GET /v1/lookup?domain=gmail.com (a cached answer).
// DNS is dnsmasq on 127.0.6.53:5406. Rounds alternate idle / hostile (BENCH_ROUNDS, default 3, of
// BENCH_DURATION_S, default 5 s, after a 3 s warm-up); medians. Loopback 127.0.6.0/24 only.
// BENCH_HOSTILE_DOC: `caps` (default when the caps exist: the costliest shapes the caps allow) or
// `main` (main's worst: 256 KiB of attributes). BENCH_SERVICE_ROOT: run the service from another
// checkout (e.g. an export of main's src/ and providers/ inside this worktree) to measure "before".
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dnsmasqAvailable, startDnsmasq } from '../test/helpers/dnsmasq.js';
import { startHttp, startHttps, type Started } from '../test/helpers/servers.js';
import { createTestCa } from '../test/helpers/test-ca.js';
import { hostileDocuments, type DocumentLimits } from './hostile-docs.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const WEB = '127.0.6.40';
const SERVICE_HOST = '127.0.6.6';
const DNS = { address: '127.0.6.53', port: 5406 };
const DOMAINS = Number(process.env.BENCH_DOMAINS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const WARMUP_S = 3;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const HOSTILE_INTERVAL_MS = 1000;
const PATH = '/v1/lookup?domain=gmail.com';

const domain = (index: number) => `h${index}.hostile.test`;
/** Every host name of one hostile domain: autoconfig, well-known, Autodiscover, and the two reached via its MX host. */
const namesOf = (index: number) => [`autoconfig.${domain(index)}`, domain(index), `autodiscover.${domain(index)}`, `autoconfig.m.${domain(index)}`];

/** The hostile documents served: the costliest shapes within the caps, or main's worst. */
async function documents(kind: string): Promise<{ autoconfig: string; autodiscover: string; label: string }> {
  if (kind === 'main') {
    const limits: DocumentLimits = { maxBytes: 256 * 1024, maxElements: Infinity, maxAttributes: Infinity, maxDepth: Infinity };
    const pick = (format: 'autoconfig' | 'autodiscover') => hostileDocuments(format, limits).find((document) => document.shape === 'many attributes')?.xml ?? '';
    return { autoconfig: pick('autoconfig'), autodiscover: pick('autodiscover'), label: "main's worst: 256 KiB of attributes" };
  }
  const caps = (await import('../src/formats/document-limits.js')) as typeof import('../src/formats/document-limits.js');
  const limits = (maxBytes: number): DocumentLimits => ({ maxBytes, maxElements: caps.XML_MAX_ELEMENTS, maxAttributes: caps.XML_MAX_ATTRIBUTES, maxDepth: caps.XML_MAX_DEPTH });
  // The costliest shapes of bench:parse that name no server (so every source is asked).
  const pick = (format: 'autoconfig' | 'autodiscover', maxBytes: number) => hostileDocuments(format, limits(maxBytes)).find((document) => document.shape === 'deep nesting')?.xml ?? '';
  return { autoconfig: pick('autoconfig', caps.DOCUMENT_MAX_BYTES), autodiscover: pick('autodiscover', caps.AUTODISCOVER_MAX_BYTES), label: 'worst allowed by the caps: deep nesting at 1,000 elements' };
}

/** The world (child process): serves the hostile documents until stdin closes. */
async function world(dir: string, kind: string): Promise<void> {
  const docs = await documents(kind);
  const ca = createTestCa('bench hostile CA');
  const names = ['autoconfig.hostile.test', ...Array.from({ length: DOMAINS }, (_, index) => namesOf(index)).flat()];
  const handler: http.RequestListener = (request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.method === 'POST') return response.end(docs.autodiscover);
      if (request.url?.includes('config-v1.1.xml')) return response.end(docs.autoconfig);
      response.writeHead(404);
      response.end();
    });
  };
  const servers: Started<unknown>[] = [await startHttps(WEB, ca.issue(names), handler), await startHttp(WEB, handler)];
  writeFileSync(join(dir, 'ca.pem'), ca.cert);
  process.stdout.write(`ready ${docs.autoconfig.length} ${docs.autodiscover.length} ${docs.label}\n`);
  process.stdin.resume();
  await new Promise((done) => process.stdin.once('end', done));
  for (const server of servers) await server.stop();
  ca.dispose();
}

/** The hostile client (child process): one new domain per second until stdin closes; prints its tally. */
async function hostile(base: string, start: number): Promise<void> {
  let stop = false;
  process.stdin.resume();
  process.stdin.once('end', () => (stop = true));
  const statuses = new Map<number, number>();
  const times: number[] = [];
  for (let index = start; !stop; index += 1) {
    const started = performance.now();
    const next = started + HOSTILE_INTERVAL_MS;
    try {
      const response = await fetch(`${base}/v1/lookup?domain=${domain(index % DOMAINS)}&fresh=true`);
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    } catch {
      statuses.set(0, (statuses.get(0) ?? 0) + 1);
    }
    times.push(performance.now() - started);
    const wait = next - performance.now();
    if (wait > 0 && !stop) await new Promise((done) => setTimeout(done, wait));
  }
  process.stdout.write(`${JSON.stringify({ statuses: Object.fromEntries(statuses), lookups: times.length, medianMs: median(times) })}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Waits until `read()` contains `text` (or fails after `ms`). */
async function waitFor(read: () => string, text: string, ms: number, what: string): Promise<string> {
  for (let waited = 0; ; waited += 20) {
    const output = read();
    if (output.includes(text)) return output;
    if (waited > ms) throw new Error(`${what} did not start: ${output.slice(-2000)}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

function child(args: string[], env: NodeJS.ProcessEnv = process.env): { process: ChildProcess; output: () => string } {
  const spawned = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['pipe', 'pipe', 'inherit'], env, cwd: ROOT });
  let output = '';
  spawned.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { process: spawned, output: () => output };
}

async function ended(spawned: ChildProcess): Promise<void> {
  const exited = new Promise((done) => spawned.once('exit', done));
  spawned.stdin?.end();
  await exited;
}

/** One autocannon run in its own process; p50/p99 latency and req/s. */
async function load(url: string, seconds: number): Promise<{ p50: number; p99: number; rps: number; errors: number }> {
  const bin = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
  const run = spawn(process.execPath, [bin, '-c', String(CONNECTIONS), '-d', String(seconds), '-j', url], { stdio: ['ignore', 'pipe', 'ignore'] });
  let output = '';
  run.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((done) => run.once('exit', done));
  const result = JSON.parse(output) as { latency: { p50: number; p99: number }; requests: { average: number }; errors: number; timeouts: number; non2xx: number };
  return { p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average, errors: result.errors + result.timeouts + result.non2xx };
}

async function main(): Promise<void> {
  if (!dnsmasqAvailable()) throw new Error('bench:hostile needs dnsmasq and root (it binds 127.0.6.40:443)');
  const hasCaps = existsSync(join(ROOT, 'src/formats/document-limits.ts'));
  const kind = process.env.BENCH_HOSTILE_DOC ?? (hasCaps ? 'caps' : 'main');
  const serviceRoot = resolve(process.env.BENCH_SERVICE_ROOT ?? ROOT);
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-hostile-'));

  const hosts: Record<string, string> = { 'autoconfig.hostile.test': WEB };
  const mx: [string, string, number][] = [];
  for (let index = 0; index < DOMAINS; index += 1) {
    for (const name of namesOf(index)) hosts[name] = WEB;
    mx.push([domain(index), `mx.m.${domain(index)}`, 10]);
  }
  const dnsmasq = await startDnsmasq(DNS.address, DNS.port, { local: ['hostile.test'], hosts, mx });
  const worldProcess = child([SELF, 'world', dir, kind]);
  const ready = await waitFor(worldProcess.output, 'ready', 60_000, 'the world');
  const [, autoconfigBytes, autodiscoverBytes, ...label] = (ready.split('\n').find((line) => line.startsWith('ready')) ?? '').split(' ');

  const logFile = join(dir, 'service.log');
  const log = openSync(logFile, 'w');
  const service = spawn(process.execPath, ['--import', 'tsx', join(serviceRoot, 'src/server.ts')], {
    cwd: serviceRoot,
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      HOST: SERVICE_HOST,
      PORT: '0',
      LOG_LEVEL: 'info',
      DNS_SERVERS: `${DNS.address}:${DNS.port}`,
      PROBE_ALLOW_CIDRS: '127.0.6.0/24',
      NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'),
      ISPDB_URLS: '',
      RATE_LIMIT_MAX: '60',
    },
  });
  const started = await waitFor(() => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''), 'Server listening at', 30_000, 'the service');
  const base = /Server listening at (http:\/\/[\d.]+:\d+)/.exec(started)?.[1] ?? '';
  const url = `${base}${PATH}`;
  if (!(await fetch(url)).ok) throw new Error('the cached lookup failed');

  await load(url, WARMUP_S);
  const idle: Awaited<ReturnType<typeof load>>[] = [];
  const busy: Awaited<ReturnType<typeof load>>[] = [];
  const tallies: string[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    idle.push(await load(url, DURATION_S));
    const attacker = child([SELF, 'hostile', base, String(round * 1000)]);
    // Its first lookup is under way before the measurement starts.
    await new Promise((done) => setTimeout(done, 500));
    busy.push(await load(url, DURATION_S));
    await ended(attacker.process);
    tallies.push(attacker.output().trim());
    process.stderr.write(`round ${round + 1}: idle p99 ${idle[round]?.p99} ms, hostile p99 ${busy[round]?.p99} ms; hostile client ${tallies[round]}\n`);
    // Lets the last hostile discovery finish before the next idle round.
    await new Promise((done) => setTimeout(done, 1500));
  }

  service.kill('SIGTERM');
  await new Promise((done) => service.once('exit', done));
  closeSync(log);
  await ended(worldProcess.process);
  await dnsmasq.stop();
  rmSync(dir, { recursive: true, force: true });

  const summary = (rounds: typeof idle) => ({
    p50: median(rounds.map((entry) => entry.p50)),
    p99: median(rounds.map((entry) => entry.p99)),
    rps: Math.round(median(rounds.map((entry) => entry.rps))),
    errors: rounds.reduce((sum, entry) => sum + entry.errors, 0),
  });
  const quiet = summary(idle);
  const loud = summary(busy);
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; service ${serviceRoot === resolve(ROOT) ? 'this checkout' : serviceRoot}`);
  console.log(`hostile documents: ${label.join(' ')} (autoconfig ${autoconfigBytes} bytes, Autodiscover ${autodiscoverBytes} bytes); one client, 1 lookup/s of a new domain`);
  console.log(`autocannon: ${CONNECTIONS} connections on GET ${PATH} (cached), ${ROUNDS} alternating rounds × ${DURATION_S} s after ${WARMUP_S} s warm-up; medians`);
  console.log('| condition | req/s | p50 ms | p99 ms | errors |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| idle | ${quiet.rps} | ${quiet.p50} | ${quiet.p99} | ${quiet.errors} |`);
  console.log(`| hostile client | ${loud.rps} | ${loud.p50} | ${loud.p99} | ${loud.errors} |`);
  console.log(`p99 hostile/idle: ${(loud.p99 / quiet.p99).toFixed(2)} (goal ≤ 2)`);
  console.log(`hostile client per round: ${tallies.join(' | ')}`);
}

if (process.argv[2] === 'world') await world(process.argv[3] ?? '.', process.argv[4] ?? 'caps');
else if (process.argv[2] === 'hostile') await hostile(process.argv[3] ?? '', Number(process.argv[4] ?? 0));
else await main();
