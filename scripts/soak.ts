// npm run soak — a bounded soak test of the service as its own process, on loopback only.
//
// The service (src/server.ts) runs as a child process on 127.0.10.1 with an in-process DNS server
// on 127.0.10.53 that answers some names (all with 127.0.10.x addresses), black-holes others and
// answers NXDOMAIN to the rest, so nothing ever leaves the machine. This process generates mixed
// traffic: cached lookups (provider database), new-domain lookups, invalid inputs, oversized
// queries, live checks of refused targets, and a few half-open slow connections. It prints the
// service's RSS, request count, 5xx count, status histogram and p50/p99 latency at start and end,
// and exits non-zero if any 5xx was seen.
//
// SOAK_MINUTES (default 1), SOAK_RPS (default 150 requests/s), SOAK_CONCURRENCY (most requests in
// flight, default 64), SOAK_SLOW (half-open slow connections, default 4), SOAK_DNS_PORT (default 53).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Agent, fetch } from 'undici';
import { TestDnsServer } from '../test/helpers/dns-server.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const HOST = '127.0.10.1';
const DNS_HOST = '127.0.10.53';
/** Where names the zone answers point: an address on this range where nothing listens. */
const NOWHERE = '127.0.10.99';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 1);
const RPS = Number(process.env.SOAK_RPS ?? 150);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 64);
const SLOW = Number(process.env.SOAK_SLOW ?? 4);
const DNS_PORT = Number(process.env.SOAK_DNS_PORT ?? 53);
for (const [name, value] of Object.entries({ SOAK_MINUTES: MINUTES, SOAK_RPS: RPS, SOAK_CONCURRENCY: CONCURRENCY, SOAK_SLOW: SLOW, SOAK_DNS_PORT: DNS_PORT })) {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
}

/** A free TCP port on the service's address (the service logs its address only at info level). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, HOST, resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The resident set size of a process in MiB, from /proc/<pid>/status. */
function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 102.4) / 10 : NaN;
}

// --- DNS: answers *.soak.test, black-holes *.blackhole.test, NXDOMAIN for everything else. ---
const dns = new TestDnsServer(DNS_HOST, DNS_PORT);
dns.set('*.soak.test', [
  { type: 'A', address: NOWHERE },
  { type: 'MX', exchange: 'mx.soak.test', priority: 10 },
]);
dns.set('_imaps._tcp.srv.soak.test', [{ type: 'SRV', target: 'imap.srv.soak.test', port: 993, priority: 0, weight: 1 }]);
dns.set('_submissions._tcp.srv.soak.test', [{ type: 'SRV', target: 'smtp.srv.soak.test', port: 465, priority: 0, weight: 1 }]);
dns.set('*.blackhole.test', 'timeout');
await dns.start();

// --- The service, as its own process. ---
const port = await freePort();
const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
  cwd: ROOT,
  env: {
    ...process.env,
    HOST,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DNS_SERVERS: `${DNS_HOST}:${DNS_PORT}`,
    DNS_TIMEOUT_MS: '1000',
    ISPDB_URL: '',
    ISPDB_URLS: '',
    // High enough that discoveries and checks run rather than the rate limiter answering.
    RATE_LIMIT_MAX: '1000000',
    CHECK_RATE_LIMIT_MAX: '1000000',
    CHECK_TARGET_LIMIT_MAX: '1000000',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let childOutput = '';
/** Every line the service wrote (warn level and above, so few), for the summary at the end. */
let serviceLog = '';
const keep = (chunk: Buffer) => {
  childOutput = (childOutput + chunk.toString()).slice(-20_000);
  if (serviceLog.length < 50_000_000) serviceLog += chunk.toString();
};
child.stdout.on('data', keep);
child.stderr.on('data', keep);
const base = `http://${HOST}:${port}`;
const stopAll = async () => {
  if (child.exitCode === null) child.kill('SIGTERM');
  await dns.stop();
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

let ready = false;
for (let i = 0; i < 300 && !ready && child.exitCode === null; i += 1) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  ready = /Server listening at/.test(childOutput) || (await fetch(`${base}/health`).then((r) => r.ok, () => false));
}
if (!ready || child.pid === undefined) {
  process.stderr.write(`the service did not start:\n${childOutput}\n`);
  await stopAll();
  process.exit(1);
}
const pid = child.pid;

// --- Traffic. ---
const CACHED = ['gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'yahoo.com', 'gmx.net', 'web.de', 'icloud.com'];
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const rand = () => Math.random().toString(36).slice(2, 10);
const junk = () => encodeURIComponent(String.fromCodePoint(...Array.from({ length: 1 + Math.floor(Math.random() * 30) }, () => Math.floor(Math.random() * 0xd7ff))));

/** One request path of each kind, by weight. */
const KINDS: [weight: number, kind: string, path: () => string][] = [
  [40, 'cached', () => (Math.random() < 0.5 ? `/v1/lookup?domain=${pick(CACHED)}` : `/v1/lookup?email=user.${rand()}@${pick(CACHED)}`)],
  [6, 'new-nxdomain', () => `/v1/lookup?domain=n${rand()}.example`],
  [5, 'new-answered', () => `/v1/lookup?email=u@${pick(['srv.soak.test', 'mx.soak.test', `d${rand()}.soak.test`])}`],
  [3, 'new-blackhole', () => `/v1/lookup?domain=x${rand()}.blackhole.test`],
  [12, 'invalid', () => pick([
    `/v1/lookup?domain=${pick(['localhost', '10.0.0.1', '[::1]', 'a..b', 'x.local', '0x7f.1'])}`,
    `/v1/lookup?email=${junk()}`,
    `/v1/lookup?domain=${junk()}&email=a@b.com`,
    '/v1/lookup',
    `/v1/lookup?domain=%E0%A4%A&${junk()}=${junk()}`,
    `/v1/providers/%zz${rand()}`,
    `/v1/check?host=${junk()}&port=22&protocol=ssh`,
  ])],
  [5, 'oversized', () => pick([`/v1/lookup?domain=${'a'.repeat(5_000)}.com`, `/v1/lookup?email=${'b'.repeat(30_000)}@x.com`, `/v1/check?host=${'c.'.repeat(2_000)}com&port=993&protocol=imap&security=tls`])],
  [10, 'check-refused', () => pick([
    '/v1/check?host=10.0.0.1&port=993&protocol=imap&security=tls',
    '/v1/check?host=localhost&port=993&protocol=imap&security=tls',
    `/v1/check?host=imap.soak.test&port=${pick([993, 143, 587])}&protocol=imap&security=${pick(['tls', 'starttls'])}`,
    `/v1/check?host=mail${rand()}.example&port=465&protocol=smtp&security=tls`,
  ])],
  [19, 'other', () => pick(['/health', '/ready', '/v1/providers', '/v1/providers/gmail', '/v1/providers/nope', '/widget.js', '/', '/desk', '/nope'])],
];
const TOTAL_WEIGHT = KINDS.reduce((sum, [weight]) => sum + weight, 0);
function nextRequest(): { kind: string; path: string } {
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const [weight, kind, path] of KINDS) {
    roll -= weight;
    if (roll < 0) return { kind, path: path() };
  }
  return { kind: 'other', path: '/health' };
}

const agent = new Agent({ connections: CONCURRENCY });
const oversizedAgent = new Agent({ pipelining: 0, connections: 8 });
const statuses = new Map<string, number>();
const byKind = new Map<string, Map<string, number>>();
const latencies: number[] = [];
const latenciesByKind = new Map<string, number[]>();
const fivexx: string[] = [];
let total = 0;
let inFlight = 0;
let skipped = 0;

async function send(): Promise<void> {
  const { kind, path } = nextRequest();
  inFlight += 1;
  const started = performance.now();
  let status: string;
  try {
    // Node answers an oversized request head with 431 and closes the connection: such requests get
    // connections of their own, so that the close never lands on a pooled connection of other traffic.
    const dispatcher = kind === 'oversized' ? oversizedAgent : agent;
    const response = await fetch(base + path, { signal: AbortSignal.timeout(30_000), dispatcher });
    await response.arrayBuffer();
    status = String(response.status);
    if (response.status >= 500) fivexx.push(`${response.status} ${path.slice(0, 120)}`);
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause;
    status = `error:${cause?.code ?? (error as Error).name}`;
  }
  const ms = performance.now() - started;
  latencies.push(ms);
  const kindLatencies = latenciesByKind.get(kind) ?? [];
  kindLatencies.push(ms);
  latenciesByKind.set(kind, kindLatencies);
  inFlight -= 1;
  total += 1;
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  const kindMap = byKind.get(kind) ?? new Map<string, number>();
  kindMap.set(status, (kindMap.get(status) ?? 0) + 1);
  byKind.set(kind, kindMap);
}

// Half-open slow connections: headers trickle in a byte at a time and are never finished; when the
// service drops one (its request/connection timeout), another takes its place.
let slowOpened = 0;
let slowDropped = 0;
const slowSockets = new Set<Socket>();
let stopping = false;
function openSlow(): void {
  if (stopping) return;
  const socket = connect({ host: HOST, port });
  slowOpened += 1;
  slowSockets.add(socket);
  const head = `GET /v1/lookup?domain=gmail.com HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: `;
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < head.length) socket.write(head[sent++] ?? 'a');
    else socket.write('a');
  }, 2_000);
  socket.on('error', () => undefined);
  socket.on('close', () => {
    clearInterval(timer);
    slowSockets.delete(socket);
    if (!stopping) {
      slowDropped += 1;
      setTimeout(openSlow, 500);
    }
  });
}

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10;
};
const histogram = () => Object.fromEntries([...statuses].sort(([a], [b]) => a.localeCompare(b)));

// Warm-up: one of each cached domain, so that the figures at start are a settled process.
for (const domain of CACHED) {
  const response = await fetch(`${base}/v1/lookup?domain=${domain}`);
  await response.arrayBuffer();
  if (response.status !== 200) process.stderr.write(`warning: ${domain} answered ${response.status}, not from the provider database\n`);
}
const rssStart = rssMiB(pid);
console.log(`soak: ${MINUTES} min, ${RPS} req/s target, concurrency ≤ ${CONCURRENCY}, ${SLOW} slow connections; service pid ${pid} at ${base}, DNS ${DNS_HOST}:${DNS_PORT}`);
console.log(`start: RSS ${rssStart} MiB, requests 0, 5xx 0`);

for (let i = 0; i < SLOW; i += 1) openSlow();
const endAt = Date.now() + MINUTES * 60_000;
let rssPeak = rssStart;
const sampler = setInterval(() => {
  rssPeak = Math.max(rssPeak, rssMiB(pid));
}, 1_000);
let lastReport = Date.now();
const TICK_MS = 10;
let credit = 0;
while (Date.now() < endAt && child.exitCode === null) {
  credit += (RPS * TICK_MS) / 1000;
  while (credit >= 1) {
    credit -= 1;
    if (inFlight >= CONCURRENCY) skipped += 1;
    else void send();
  }
  if (Date.now() - lastReport >= 15_000) {
    lastReport = Date.now();
    console.log(`  ${Math.round((endAt - Date.now()) / 1000)} s left: RSS ${rssMiB(pid)} MiB, requests ${total}, 5xx ${fivexx.length}, in flight ${inFlight}, slow connections ${slowSockets.size} open / ${slowDropped} dropped by the service`);
  }
  await new Promise((resolve) => setTimeout(resolve, TICK_MS));
}
stopping = true;
clearInterval(sampler);
for (let i = 0; i < 400 && inFlight > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
for (const socket of slowSockets) socket.destroy();
const crashed = child.exitCode !== null;
const rssEnd = crashed ? NaN : rssMiB(pid);

console.log(`end: RSS ${rssEnd} MiB (peak ${rssPeak} MiB), requests ${total}, 5xx ${fivexx.length}, p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`);
console.log(`statuses: ${JSON.stringify(histogram())}`);
for (const [kind, map] of byKind) {
  const values = latenciesByKind.get(kind) ?? [];
  console.log(`  ${kind}: ${JSON.stringify(Object.fromEntries(map))}, p50 ${percentile(values, 50)} ms, p99 ${percentile(values, 99)} ms`);
}
console.log(`slow connections: ${slowOpened} opened, ${slowDropped} dropped by the service; ${skipped} requests skipped (concurrency cap)`);
if (fivexx.length > 0) console.log(`5xx answers (first 10):\n${fivexx.slice(0, 10).join('\n')}`);
if (crashed) console.log(`the service exited during the soak (code ${child.exitCode}):\n${childOutput.slice(-3000)}`);
// The service's own log lines (warn and above), counted by message.
const logCounts = new Map<string, number>();
for (const line of serviceLog.split('\n').filter(Boolean)) {
  let message = line.slice(0, 120);
  try {
    const entry = JSON.parse(line) as { level?: number; msg?: string };
    message = `level ${entry.level}: ${entry.msg}`;
  } catch {
    // not JSON: counted as it is
  }
  logCounts.set(message, (logCounts.get(message) ?? 0) + 1);
}
if (logCounts.size > 0) console.log(`service log lines: ${JSON.stringify(Object.fromEntries(logCounts))}`);
await stopAll();
await Promise.all([agent.close(), oversizedAgent.close()]);
process.exitCode = fivexx.length > 0 || crashed ? 1 : 0;
