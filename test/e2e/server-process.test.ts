import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Starts src/server.ts as a real process (as `npm start` does, without the build step). */
function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ISPDB_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, output: () => ({ stdout, stderr }) };
}

describe('the service process', () => {
  it('stops at start-up with a message naming each bad variable', async () => {
    const { child, output } = startServer({ PORT: 'eighty', DNS_SERVERS: 'not-an-ip' });
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    assert.match(output().stderr, /cannot start/);
    assert.match(output().stderr, /PORT/);
    assert.match(output().stderr, /DNS_SERVERS/);
  });

  it('stops at start-up naming a bad provider file in PROVIDERS_DIR', async () => {
    const { child, output } = startServer({ PROVIDERS_DIR: fileURLToPath(new URL('../fixtures/providers-bad/', import.meta.url)) });
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    assert.match(output().stderr, /broken\.json.*incoming\.0\.port/);
  });

  it('serves, logs one line per request without the address, and shuts down on SIGTERM', { timeout: 30_000 }, async (t) => {
    const { child, output } = startServer({ LOG_LEVEL: 'info' });
    // However the assertions go, the child must not outlive the test (it would hold the runner open).
    const exited = once(child, 'exit');
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let url = '';
    for (let i = 0; i < 200 && !url; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output().stdout)?.[1] ?? '';
    }
    assert.ok(url, `no listening line in ${output().stdout}${output().stderr}`);
    const response = await fetch(`${url}/v1/lookup?email=secret.person@gmail.com`);
    assert.equal(response.status, 200);
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 200);
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0);
    const logs = output().stdout;
    // Privacy: the local part never reaches the logs at info level.
    assert.doesNotMatch(logs, /secret\.person/);
    const lines = logs.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const requestLines = lines.filter((line) => line.msg === 'request');
    // One line per request; the lookup's carries its domain and outcome.
    const lookupLine = requestLines.find((line) => line.route === '/v1/lookup');
    assert.equal(lookupLine?.domain, 'gmail.com');
    assert.equal(lookupLine?.outcome, 'found');
    assert.equal(lookupLine?.status, 200);
    assert.equal(requestLines.length, 2);
    assert.ok(requestLines.every((line) => typeof line.ms === 'number' && typeof line.status === 'number'));
    // Each line names its request, so lines about one request (errors, checks) can be matched up.
    assert.equal(new Set(requestLines.map((line) => line.reqId)).size, 2);
    assert.ok(requestLines.every((line) => typeof line.reqId === 'string' && line.reqId.length > 0));
    assert.ok(lines.some((line) => line.msg === 'shutting down'));
  });
});
