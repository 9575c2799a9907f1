import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const exec = promisify(execFile);

// Issue 6 asked for 150 providers and 1,000 domains; the ISPDB coverage work (npm run
// providers:coverage) raised the floor to what the database holds now. It only goes up.
const MIN_PROVIDERS = 195;
const MIN_DOMAINS = 1331;
const MIN_MX_SUFFIXES = 79;

/** Runs `npm run providers:check` the way CI does, as a child process. */
async function check(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', 'scripts/providers-check.ts', ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

const provider = (id: string, incoming: object) => ({
  id,
  name: id,
  domains: [`${id}.test`],
  mxSuffixes: [],
  incoming: [{ protocol: 'imap', host: `imap.${id}.test`, username: '%EMAILADDRESS%', authentication: ['password-cleartext'], ...incoming }],
  outgoing: [],
  documentation: [],
  hints: [],
  lastVerified: '2026-11-27',
});

describe('npm run providers:check', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'providers-check-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(`passes on the shipped providers and prints the counts (at least ${MIN_PROVIDERS} providers, ${MIN_DOMAINS} domains and ${MIN_MX_SUFFIXES} MX suffixes)`, async () => {
    const result = await check();
    assert.equal(result.code, 0, result.stderr);
    const counts = /^(\d+) providers, (\d+) domains, (\d+) MX suffixes; 0 errors/m.exec(result.stdout);
    assert.ok(counts, result.stdout);
    assert.ok(Number(counts[1]) >= MIN_PROVIDERS, `${counts[1]} providers`);
    assert.ok(Number(counts[2]) >= MIN_DOMAINS, `${counts[2]} domains`);
    assert.ok(Number(counts[3]) >= MIN_MX_SUFFIXES, `${counts[3]} MX suffixes`);
  });

  it('fails naming the file and the rule when a port contradicts its security', async () => {
    await writeFile(path.join(dir, 'good.json'), JSON.stringify(provider('good', { port: 993, security: 'tls' })));
    await writeFile(path.join(dir, 'wrong-port.json'), JSON.stringify(provider('wrong-port', { port: 993, security: 'starttls' })));
    const result = await check(dir);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /error: providers\/wrong-port\.json: incoming\[0\] imap\.wrong-port\.test:993: port 993 is tls, not starttls/);
    assert.match(result.stdout, /2 providers, 2 domains, 0 MX suffixes; 1 errors/);
  });

  it('fails naming the file and the field of a file the schema refuses', async () => {
    await writeFile(path.join(dir, 'bad-port.json'), JSON.stringify(provider('bad-port', { port: 99999, security: 'tls' })));
    const result = await check(dir);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad-port\.json: invalid provider: incoming\.0\.port: /);
  });
});
