// npm run bench:discovery — cold discovery latency in a loopback world (its web and mail servers in a
// child process, so only the service's own work shares the measured event loop): a domain publishing
// autoconfig, a domain publishing only SRV records, and a domain whose autoconfig host accepts
// connections and never answers (its cost must stay within HTTP_TIMEOUT_MS). A guessed domain is
// included when the guessing source is registered (a minimal IMAPS server answers its probes). Every lookup bypasses the cache (fresh=true), so
// each one runs the whole discovery: DNS through a real resolver process (dnsmasq when available,
// else an in-process dns2 server) and a fresh TLS handshake per fetch. Loopback only.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type http from 'node:http';
import tls from 'node:tls';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { loadProviderDb } from '../src/provider-db/provider-db.js';
import { paccTxtValue } from '../src/formats/pacc-json.js';
import { autoconfigXml, autodiscoverXml, paccJson } from '../test/helpers/autoconfig-docs.js';
import { TestDnsServer } from '../test/helpers/dns-server.js';
import { dnsmasqAvailable, startDnsmasq } from '../test/helpers/dnsmasq.js';
import { startHttps, startSilent, type Started } from '../test/helpers/servers.js';
import { createTestCa } from '../test/helpers/test-ca.js';

const DNS_ADDRESS = '127.0.1.54';
const WEB = '127.0.1.40';
const HANG = '127.0.1.42';
const GUESS = '127.0.1.44';
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const HANG_RUNS = Number(process.env.BENCH_HANG_RUNS ?? 5);
const GUESS_RUNS = Number(process.env.BENCH_GUESS_RUNS ?? 30);

const HOSTS: Record<string, string> = {
  'autoconfig.ac.bench.test': WEB,
  // A domain whose autoconfig still names its own server while its MX is at Gmail: the MX step is
  // kept up to 150 ms past the autoconfig answer to cross-check it (sources_disagree).
  'autoconfig.moved.bench.test': WEB,
  // The mail domain's own website: asked for the well-known autoconfig, Autodiscover and JMAP
  // locations, it answers 404 (as most websites do), so every source of the domain settles.
  'ac.bench.test': WEB,
  'autodiscover.ad.bench.test': WEB,
  'ua-auto-config.pacc.bench.test': WEB,
  'autoconfig.hang.bench.test': HANG,
  'imap.guess.bench.test': GUESS,
};
const SRV: [string, string, number][] = [
  ['_imaps._tcp.srv.bench.test', 'imap.srv.bench.test', 993],
  ['_submission._tcp.srv.bench.test', 'smtp.srv.bench.test', 587],
  ['_imaps._tcp.hang.bench.test', 'imap.hang.bench.test', 993],
];

const PACC = paccJson('pacc.bench.test');

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** A minimal IMAP server with implicit TLS on 993: greets, answers CAPABILITY and LOGOUT, OKs the rest. */
function startImaps(address: string, credentials: { key: string; cert: string }): Promise<Started<tls.Server>> {
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer(credentials, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] bench IMAP ready\r\n');
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const [tag = '*', command = ''] = line.split(' ');
        if (/^capability$/i.test(command)) socket.write(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`);
        else if (/^logout$/i.test(command)) socket.end(`* BYE\r\n${tag} OK bye\r\n`);
        else socket.write(`${tag} OK\r\n`);
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(993, address, () =>
      resolve({
        server,
        stop: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      }),
    ),
  );
}

async function startDns(): Promise<{ server: string; kind: string; stop: () => Promise<void> }> {
  if (dnsmasqAvailable()) {
    const dnsmasq = await startDnsmasq(DNS_ADDRESS, 5353, {
      local: ['bench.test'],
      hosts: HOSTS,
      srv: SRV.map(([name, target, port]) => [name, target, port, 0, 0]),
      mx: [['moved.bench.test', 'aspmx.l.google.com', 1]],
      txt: [[`_ua-auto-config.pacc.bench.test`, paccTxtValue(Buffer.from(PACC))]],
    });
    return { server: dnsmasq.server, kind: 'dnsmasq', stop: () => dnsmasq.stop() };
  }
  const dns = new TestDnsServer(DNS_ADDRESS, 5353);
  for (const [name, address] of Object.entries(HOSTS)) dns.set(name, [{ type: 'A', address }]);
  dns.set('moved.bench.test', [{ type: 'MX', exchange: 'aspmx.l.google.com', priority: 1 }]);
  for (const [name, target, port] of SRV) dns.set(name, [{ type: 'SRV', target, port, priority: 0, weight: 0 }]);
  dns.set('_ua-auto-config.pacc.bench.test', [{ type: 'TXT', data: paccTxtValue(Buffer.from(PACC)) }]);
  await dns.start();
  return { server: dns.server, kind: 'dns2 (in-process)', stop: () => dns.stop() };
}

/**
 * The world's web and mail servers, run in a child process (`bench-discovery.ts world <dir>`): their
 * TLS handshakes and answers must not share the event loop and CPU time being measured. The child
 * makes the CA, writes its certificate to <dir>/ca.pem, prints "ready" and serves until stdin closes.
 */
async function world(dir: string): Promise<void> {
  const ca = createTestCa('bench CA');
  const servers: Started<unknown>[] = [];
  const web: http.RequestListener = (request, response) => {
    const host = (request.headers.host ?? '').toLowerCase();
    if (host === 'autoconfig.ac.bench.test' && request.url?.startsWith('/mail/config-v1.1.xml')) return response.end(autoconfigXml('ac.bench.test'));
    if (host === 'autoconfig.moved.bench.test' && request.url?.startsWith('/mail/config-v1.1.xml')) return response.end(autoconfigXml('moved.bench.test'));
    if (host === 'autodiscover.ad.bench.test' && request.method === 'POST') {
      request.resume();
      request.on('end', () => response.end(autodiscoverXml('ad.bench.test')));
      return;
    }
    if (host === 'ua-auto-config.pacc.bench.test' && request.url === '/.well-known/user-agent-configuration.json') return response.end(PACC);
    response.writeHead(404);
    response.end();
  };
  servers.push(await startHttps(WEB, ca.issue(['autoconfig.ac.bench.test', 'autoconfig.moved.bench.test', 'ac.bench.test', 'autodiscover.ad.bench.test', 'ua-auto-config.pacc.bench.test']), web));
  servers.push(await startSilent(HANG, 443));
  servers.push(await startImaps(GUESS, ca.issue(['imap.guess.bench.test'])));
  writeFileSync(join(dir, 'ca.pem'), ca.cert);
  process.stdout.write('ready\n');
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  for (const server of servers) await server.stop();
  ca.dispose();
}

/** Starts the world process; resolves with the CA to trust and a way to stop it. */
async function startWorld(): Promise<{ ca: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-world-'));
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'world', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (let waited = 0; !output.includes('ready'); waited += 20) {
    if (child.exitCode !== null || waited > 20_000) throw new Error(`the bench world did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  return {
    ca,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const dns = await startDns();
  const world = await startWorld();

  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DNS_SERVERS: dns.server,
    PROBE_ALLOW_CIDRS: '127.0.1.0/24',
    ISPDB_URL: '',
    RATE_LIMIT_MAX: '1000000',
    // The bench probes one loopback server many times a minute: lift the per-address budget meant for strangers.
    CHECK_TARGET_LIMIT_MAX: '1000000',
    CHECK_RATE_LIMIT_MAX: '1000000',
    ...(process.env.HTTP_TIMEOUT_MS ? { HTTP_TIMEOUT_MS: process.env.HTTP_TIMEOUT_MS } : {}),
  } as NodeJS.ProcessEnv);
  const app = await buildApp(config, { providerDb: await loadProviderDb(), httpCa: world.ca });
  await app.ready();
  const has = (name: string) => app.services.discoverer.sources.some((source) => source.name === name);
  const hasGuess = has('guess');

  const scenarios: { name: string; query: string; runs: number; expect: string }[] = [
    { name: 'autoconfig domain', query: 'email=jane%40ac.bench.test', runs: RUNS, expect: 'autoconfig:' },
    { name: 'SRV-only domain', query: 'domain=srv.bench.test', runs: RUNS, expect: 'srv:' },
    { name: 'autoconfig domain, MX at Gmail (cross-checked)', query: 'domain=moved.bench.test', runs: RUNS, expect: 'autoconfig:' },
    { name: `autoconfig host hangs (HTTP_TIMEOUT_MS ${config.HTTP_TIMEOUT_MS})`, query: 'domain=hang.bench.test', runs: HANG_RUNS, expect: 'srv:' },
    ...(hasGuess ? [{ name: 'guessed domain (IMAPS only)', query: 'domain=guess.bench.test', runs: GUESS_RUNS, expect: 'guess:' }] : []),
    ...(has('autodiscover') ? [{ name: 'Autodiscover-only domain', query: 'email=ada%40ad.bench.test', runs: RUNS, expect: 'autodiscover:' }] : []),
    ...(has('pacc') ? [{ name: 'PACC-only domain', query: 'domain=pacc.bench.test', runs: RUNS, expect: 'pacc:' }] : []),
  ];
  const rows: string[][] = [];
  for (const scenario of scenarios) {
    const times: number[] = [];
    let wrong = 0;
    // Two warm-up lookups (JIT, first TLS context) are not counted.
    for (let run = -2; run < scenario.runs; run += 1) {
      const started = performance.now();
      const response = await app.inject({ method: 'GET', url: `/v1/lookup?${scenario.query}&fresh=true` });
      const elapsed = performance.now() - started;
      const source = response.statusCode === 200 ? (response.json().incoming?.[0]?.source ?? '') : '';
      if (run < 0) continue;
      times.push(elapsed);
      if (!String(source).startsWith(scenario.expect)) wrong += 1;
    }
    times.sort((a, b) => a - b);
    rows.push([
      scenario.name,
      String(scenario.runs),
      percentile(times, 50).toFixed(1),
      percentile(times, 99).toFixed(1),
      (times[times.length - 1] ?? NaN).toFixed(1),
      String(wrong),
    ]);
  }
  if (!hasGuess) rows.push(['guessed domain', '-', '-', '-', '-', 'guess source not registered']);

  const header = ['scenario (cold, fresh=true)', 'runs', 'p50 ms', 'p99 ms', 'max ms', 'wrong answers'];
  const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => (row[index] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join(' | ')} |`;
  process.stdout.write(`\nDiscovery latency${process.env.BENCH_LABEL ? ` (${process.env.BENCH_LABEL})` : ''} — node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, DNS: ${dns.kind}\n\n`);
  process.stdout.write(`${line(header)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
  process.stdout.write('\n');

  await app.close();
  await world.stop();
  await dns.stop();
}

if (process.argv[2] === 'world') await world(process.argv[3] ?? '.');
else await main();
