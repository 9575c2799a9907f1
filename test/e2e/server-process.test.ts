import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnService, startService } from '../helpers/service-process.js';

describe('the service process', () => {
  it('stops at start-up with a message naming each bad variable', async () => {
    const service = spawnService({ PORT: 'eighty', DNS_SERVERS: 'not-an-ip' });
    assert.equal(await service.exited, 1);
    assert.match(service.output.stderr(), /cannot start/);
    assert.match(service.output.stderr(), /PORT/);
    assert.match(service.output.stderr(), /DNS_SERVERS/);
  });

  it('stops at start-up naming a bad provider file in PROVIDERS_DIR', async () => {
    const service = spawnService({ PROVIDERS_DIR: fileURLToPath(new URL('../fixtures/providers-bad/', import.meta.url)) });
    assert.equal(await service.exited, 1);
    assert.match(service.output.stderr(), /broken\.json.*incoming\.0\.port/);
  });

  it('serves, logs one line per request without the address, and shuts down on SIGTERM', { timeout: 30_000 }, async (t) => {
    const service = await startService({ LOG_LEVEL: 'info' });
    // However the assertions go, the child must not outlive the test (it would hold the runner open).
    t.after(() => {
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    });
    const response = await fetch(`${service.url}/v1/lookup?email=secret.person@gmail.com`);
    assert.equal(response.status, 200);
    const health = await fetch(`${service.url}/health`);
    assert.equal(health.status, 200);
    assert.equal(await service.stop(), 0);
    const logs = service.output.stdout();
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
