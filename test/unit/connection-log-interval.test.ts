import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it, type TestContext } from 'node:test';
import { limitConnections } from '../../src/net/connection-limits.js';

const INTERVAL_MS = 300;

/** A server that never listens: the test emits the events Node would (no socket is opened). */
function watched(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const server = http.createServer();
  const lines: Record<string, unknown>[] = [];
  const limits = limitConnections(server, {
    perClientMax: 4,
    logIntervalMs: INTERVAL_MS,
    log: { warn: (fields, message) => lines.push({ ...fields, msg: message }) },
  });
  const drop = (remoteAddress: string) => server.emit('drop', { remoteAddress });
  return { server, lines, limits, drop };
}

describe('the refused-connections warning (on a mocked clock)', () => {
  it('writes one line when the interval a refusal opened ends, with that interval\'s counts, and nothing while nothing is refused', (t) => {
    const { lines, limits, drop } = watched(t);
    drop('192.0.2.1');
    drop('192.0.2.1');
    drop('198.51.100.7');
    assert.deepEqual(lines, [], 'no line per refusal');
    t.mock.timers.tick(INTERVAL_MS - 1);
    assert.deepEqual(lines, [], 'none before the interval ends');
    t.mock.timers.tick(1);
    assert.deepEqual(lines, [{ refused: { perClient: 0, serverFull: 3 }, timedOut: 0, clients: 2, intervalMs: INTERVAL_MS, msg: 'connections refused' }]);
    // Privacy: counts only, never an address.
    assert.doesNotMatch(JSON.stringify(lines), /192\.0\.2\.1|198\.51\.100\.7/);
    t.mock.timers.tick(10 * INTERVAL_MS);
    assert.equal(lines.length, 1, 'a quiet server writes nothing');
    // A later refusal opens an interval of its own, counted from zero.
    drop('192.0.2.1');
    t.mock.timers.tick(INTERVAL_MS);
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[1]?.['refused'], { perClient: 0, serverFull: 1 });
    limits.stop();
  });

  it('counts requests that timed out (clientError ERR_HTTP_REQUEST_TIMEOUT), and stop() writes what is pending', (t) => {
    const { server, lines, limits } = watched(t);
    const timedOut = Object.assign(new Error('request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    server.emit('clientError', timedOut, { remoteAddress: '192.0.2.9' });
    server.emit('clientError', Object.assign(new Error('parse error'), { code: 'HPE_INVALID_METHOD' }), { remoteAddress: '192.0.2.9' });
    limits.stop();
    assert.deepEqual(lines.map((line) => [line['timedOut'], line['refused']]), [[1, { perClient: 0, serverFull: 0 }]], 'only the timeout counts');
    t.mock.timers.tick(INTERVAL_MS);
    assert.equal(lines.length, 1, 'the stopped interval writes nothing more');
  });
});
