import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { testConfig, type EnvName } from '../../src/config/env.js';
import { loadTestProviderDb } from '../helpers/app.js';
import { delay } from '../helpers/servers.js';

// Loopback world of this file (127.0.9.0/24 only): the service listens on 127.0.9.60; clients
// connect from 127.0.9.61 (greedy), 127.0.9.62 (another client) and 127.0.9.63 (slowloris).
const HOST = '127.0.9.60';
const GREEDY = '127.0.9.61';
const OTHER = '127.0.9.62';
const SLOW = '127.0.9.63';
const LOG_INTERVAL_MS = 300;

/** A log destination that keeps every JSON line. */
function captureLogs(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { stream, lines };
}

/** A connection from `localAddress` that sends the start of a request and never finishes its headers. */
async function halfSent(port: number, localAddress: string): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  const socket = net.connect({ host: HOST, port, localAddress });
  socket.on('error', () => {});
  socket.resume();
  const openedAt = performance.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - openedAt)));
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', () => resolve());
  });
  if (!socket.destroyed) socket.write('GET /health HTTP/1.1\r\nHost: mailsettings.test\r\n');
  return { socket, closed };
}

function get(port: number, localAddress: string, path = '/health'): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: HOST, port, localAddress, path, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.setTimeout(2000, () => request.destroy(new Error('no answer within 2 s')));
    request.on('error', reject);
  });
}

describe('connections to the service itself', () => {
  const apps: FastifyInstance[] = [];
  const sockets: net.Socket[] = [];

  const start = async (overrides: Partial<Record<EnvName, string>>) => {
    const logs = captureLogs();
    const app = await buildApp(testConfig({ LOG_LEVEL: 'warn', ISPDB_URL: '', DNS_SERVERS: '127.0.9.1:9', ...overrides }), {
      providerDb: await loadTestProviderDb(),
      logStream: logs.stream,
      connectionLogIntervalMs: LOG_INTERVAL_MS,
    });
    apps.push(app);
    await app.listen({ port: 0, host: HOST });
    return { app, port: (app.server.address() as AddressInfo).port, logs };
  };
  const refusalLines = (lines: Record<string, unknown>[]) => lines.filter((line) => line['msg'] === 'connections refused');

  after(async () => {
    for (const socket of sockets) socket.destroy();
    for (const app of apps) await app.close();
  });

  it('closes a client\'s half-sent connections beyond its cap at once, answers another client, and logs one warning per interval', async () => {
    const { port, logs } = await start({ CONNECTIONS_PER_CLIENT_MAX: '4', HEADERS_TIMEOUT_MS: '5000' });
    const greedy = [];
    for (let index = 0; index < 7; index += 1) greedy.push(await halfSent(port, GREEDY));
    sockets.push(...greedy.map((entry) => entry.socket));
    const refused = await Promise.all(greedy.slice(4).map((entry) => Promise.race([entry.closed, delay(500).then(() => Infinity)])));
    for (const ms of refused) assert.ok(ms < 500, 'the excess connection was closed at once');
    await delay(50);
    assert.equal(greedy.slice(0, 4).filter((entry) => entry.socket.destroyed).length, 0, 'the first four stay open');
    assert.equal(await get(port, OTHER), 200, 'another client is answered');

    // One warning for the three refusals, with their count, once the interval has passed.
    assert.equal(refusalLines(logs.lines).length, 0, 'not one line per refused socket');
    await delay(LOG_INTERVAL_MS + 150);
    const lines = refusalLines(logs.lines);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.['level'], 40);
    assert.deepEqual(lines[0]?.['refused'], { perClient: 3, serverFull: 0 });
    assert.equal(JSON.stringify(lines[0]).includes(GREEDY), false, 'privacy: no client address in the log');
    // Nothing more is logged while nothing more is refused; a later refusal gets a line of its own.
    await delay(LOG_INTERVAL_MS + 50);
    assert.equal(refusalLines(logs.lines).length, 1);
    sockets.push((await halfSent(port, GREEDY)).socket);
    await delay(LOG_INTERVAL_MS + 150);
    assert.equal(refusalLines(logs.lines).length, 2);
    assert.deepEqual(refusalLines(logs.lines)[1]?.['refused'], { perClient: 1, serverFull: 0 });

    // Freed slots are counted back: once the greedy client closes its connections it is served again.
    for (const entry of greedy) entry.socket.destroy();
    await delay(50);
    assert.equal(await get(port, GREEDY), 200);
  });

  it('closes a slowloris connection (headers never finished) after HEADERS_TIMEOUT_MS', async () => {
    const { port, logs } = await start({ HEADERS_TIMEOUT_MS: '300' });
    const slow = await halfSent(port, SLOW);
    sockets.push(slow.socket);
    // Keep trickling header bytes: each one arrives well inside any idle timeout.
    const trickle = setInterval(() => !slow.socket.destroyed && slow.socket.write('X-Slow: 1\r\n'), 50);
    const ms = await Promise.race([slow.closed, delay(3000).then(() => Infinity)]);
    clearInterval(trickle);
    assert.ok(ms >= 250 && ms < 1500, `closed after ${Math.round(ms)} ms`);
    assert.equal(await get(port, OTHER), 200);
    await delay(LOG_INTERVAL_MS + 150);
    assert.equal(refusalLines(logs.lines)[0]?.['timedOut'], 1, 'the timed-out request is counted in the warning');
  });

  it('refuses connections beyond MAX_CONNECTIONS server-wide, and counts them in the warning', async () => {
    const { port, logs } = await start({ MAX_CONNECTIONS: '3', CONNECTIONS_PER_CLIENT_MAX: '100', HEADERS_TIMEOUT_MS: '5000' });
    const held = [];
    for (let index = 0; index < 3; index += 1) held.push(await halfSent(port, GREEDY));
    sockets.push(...held.map((entry) => entry.socket));
    const extra = await halfSent(port, OTHER);
    sockets.push(extra.socket);
    assert.ok((await Promise.race([extra.closed, delay(500).then(() => Infinity)])) < 500, 'the connection over the server-wide cap was closed');
    await delay(LOG_INTERVAL_MS + 150);
    assert.deepEqual(refusalLines(logs.lines)[0]?.['refused'], { perClient: 0, serverFull: 1 });
    for (const entry of held) entry.socket.destroy();
    await delay(50);
    assert.equal(await get(port, OTHER), 200);
  });
});
