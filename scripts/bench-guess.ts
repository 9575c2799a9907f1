// npm run bench:guess — cold guessing and live-check latency in the loopback world: a real Dovecot
// (imapd, pop3d, submissiond) and a real dnsmasq on 127.0.3.x, and the real service as a child
// process (trusting the test CA through NODE_EXTRA_CA_CERTS). Needs root (ports 110–995) and the
// Debian packages .ci/run installs. Every request uses fresh=true, so each one is a cold run.
// Goal (discovery issue): guessing ≤ 1 s on loopback.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOVECOT_WORLD, startDovecotWorld } from '../test/helpers/dovecot.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 30);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-guess-'));
  const world = await startDovecotWorld(dir);
  const providers = join(dir, 'providers');
  mkdirSync(providers);
  const server = (protocol: string, port: number, security: string) => ({
    protocol, host: 'mail.dovecot.test', port, security, username: '%EMAILADDRESS%', authentication: ['password-cleartext'],
  });
  writeFileSync(
    join(providers, 'dovecot-test.json'),
    JSON.stringify({
      id: 'dovecot-test', name: 'Dovecot Test', domains: ['dovecot.test'], mxSuffixes: [],
      incoming: [server('imap', 993, 'tls'), server('imap', 143, 'starttls'), server('pop3', 995, 'tls'), server('pop3', 110, 'starttls')],
      outgoing: [server('smtp', 465, 'tls'), server('smtp', 587, 'starttls')],
      documentation: [], hints: [], lastVerified: '2026-11-27',
    }),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ISPDB_URL: '',
      DNS_SERVERS: world.dnsServer, PROBE_ALLOW_CIDRS: DOVECOT_WORLD.allowCidrs, NODE_EXTRA_CA_CERTS: world.caFile, PROVIDERS_DIR: providers,
      RATE_LIMIT_MAX: '1000000', CHECK_RATE_LIMIT_MAX: '1000000', CHECK_TARGET_LIMIT_MAX: '1000000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    let url = '';
    for (let i = 0; i < 300 && !url; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] ?? '';
    }
    if (!url) throw new Error(`the service did not start:\n${output}`);

    const time = async (path: string) => {
      const started = performance.now();
      const response = await fetch(`${url}${path}`);
      const body = (await response.json()) as Record<string, unknown>;
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
      return { ms: performance.now() - started, body };
    };

    // Warm-up: module loading, TLS contexts, first DNS answers.
    await time('/v1/lookup?domain=guess.test&fresh=true');
    const rows: { case: string; p50: number; p99: number; max: number; extra?: string }[] = [];

    const guesses: number[] = [];
    let found = '';
    for (let i = 0; i < RUNS; i += 1) {
      const { ms, body } = await time('/v1/lookup?domain=guess.test&fresh=true');
      guesses.push(ms);
      const incoming = body['incoming'] as { host: string; port: number }[];
      found = `${incoming.length} incoming, first ${incoming[0]?.host}:${incoming[0]?.port}`;
    }
    rows.push({ case: 'lookup guess.test (guessed, cold)', p50: percentile(guesses, 50), p99: percentile(guesses, 99), max: Math.max(...guesses), extra: found });

    for (const [port, protocol, security] of [
      [993, 'imap', 'tls'], [143, 'imap', 'starttls'], [995, 'pop3', 'tls'], [110, 'pop3', 'starttls'], [465, 'smtp', 'tls'], [587, 'smtp', 'starttls'],
    ] as const) {
      const walls: number[] = [];
      const totals: number[] = [];
      for (let i = 0; i < RUNS; i += 1) {
        const { ms, body } = await time(`/v1/check?host=mail.dovecot.test&port=${port}&protocol=${protocol}&security=${security}&fresh=true`);
        if (body['ok'] !== true) throw new Error(`check ${port} failed: ${JSON.stringify(body['error'])}`);
        walls.push(ms);
        totals.push((body['ms'] as { total: number }).total);
      }
      rows.push({ case: `check ${protocol} ${port} ${security}`, p50: percentile(walls, 50), p99: percentile(walls, 99), max: Math.max(...walls), extra: `ms.total p50 ${fmt(percentile(totals, 50))}` });
    }

    const lookups: number[] = [];
    for (let i = 0; i < RUNS; i += 1) lookups.push((await time('/v1/lookup?domain=dovecot.test&check=true&fresh=true')).ms);
    rows.push({ case: 'lookup dovecot.test check=true (6 checks)', p50: percentile(lookups, 50), p99: percentile(lookups, 99), max: Math.max(...lookups) });

    process.stdout.write(`\n${RUNS} cold runs each, loopback, real Dovecot ${'+'} dnsmasq, service over HTTP\n\n`);
    process.stdout.write(`| case | p50 | p99 | max | note |\n| --- | --- | --- | --- | --- |\n`);
    for (const row of rows) process.stdout.write(`| ${row.case} | ${fmt(row.p50)} | ${fmt(row.p99)} | ${fmt(row.max)} | ${row.extra ?? ''} |\n`);
    const guessP99 = percentile(guesses, 99);
    process.stdout.write(`\nguessing goal ≤ 1000 ms: ${guessP99 <= 1000 ? 'met' : 'MISSED'} (p99 ${fmt(guessP99)})\n`);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
