import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { type EnvName } from '../../src/config/env.js';
import { testConfig } from '../helpers/config.js';
import { loadTestProviderDb } from '../helpers/app.js';

// Loopback world of this file (127.0.9.0/24 only): the service listens on 127.0.9.60; clients
// connect from 127.0.9.61 (greedy), 127.0.9.62 (another client) and 127.0.9.63 (slowloris).
// The warning's interval is real here (300 ms, awaited as the log line it produces); its timing
// rules are tested on a mocked clock in test/unit/connection-log-interval.test.ts.
const HOST = '127.0.9.60';
const GREEDY = '127.0.9.61';
const OTHER = '127.0.9.62';
const SLOW = '127.0.9.63';
const LOG_INTERVAL_MS = 300;

type LogLine = Record<string, unknown>;

/** A log destination that keeps every JSON line, and resolves waits for the n-th refusal warning. */
function captureLogs(): { stream: Writable; lines: LogLine[]; refusals(): LogLine[]; refusal(n: number): Promise<LogLine> } {
  const lines: LogLine[] = [];
  const arrived = new EventEmitter();
  const refusals = () => lines.filter((line) => line['msg'] === 'connections refused');
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as LogLine);
      arrived.emit('line');
      callback();
    },
  });
  const refusal = async (n: number): Promise<LogLine> => {
    while (refusals().length < n) await once(arrived, 'line');
    return refusals()[n - 1] ?? {};
  };
  return { stream, lines, refusals, refusal };
}

/** A connection from `localAddress` that sends the start of a request and never finishes its headers. */
async function halfSent(port: number, localAddress: string): Promise<{ socket: net.Socket; localPort: number; closed: Promise<number> }> {
  const socket = net.connect({ host: HOST, port, localAddress });
  socket.on('error', () => {});
  const openedAt = performance.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - openedAt)));
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', () => resolve());
  });
  // (kept: a destroyed socket forgets its port)
  const localPort = socket.localPort ?? 0;
  if (!socket.destroyed) socket.write('GET /health HTTP/1.1\r\nHost: mailsettings.test\r\n');
  return { socket, localPort, closed };
}

/** Ends the headers of a half-sent request and resolves with the status it gets: proof the connection was open. */
async function finish(socket: net.Socket): Promise<number> {
  const answer = once(socket, 'data');
  socket.write('\r\n');
  const [chunk] = (await answer) as [Buffer];
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString())?.[1] ?? 0);
}

function get(port: number, localAddress: string, path = '/health'): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: HOST, port, localAddress, path, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
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
    // The server's end of each connection, by the client's port: a test awaits the server noticing a close.
    const serverEnds = new Map<number, net.Socket>();
    app.server.on('connection', (socket: net.Socket) => serverEnds.set(socket.remotePort ?? 0, socket));
    const serverClosed = async (client: { localPort: number }) => {
      const end = serverEnds.get(client.localPort);
      assert.ok(end, 'the server saw the connection');
      // (not events.once: the server's end may emit an error, e.g. the parser's at a cut request, before it closes)
      if (!end.closed) await new Promise((resolve) => end.once('close', resolve));
    };
    await app.listen({ port: 0, host: HOST });
    return { port: (app.server.address() as AddressInfo).port, logs, serverClosed };
  };

  after(async () => {
    for (const socket of sockets) socket.destroy();
    for (const app of apps) await app.close();
  });

  it('closes a client\'s half-sent connections beyond its cap at once, answers another client, and logs one warning per interval', { timeout: 20_000 }, async () => {
    const { port, logs, serverClosed } = await start({ CONNECTIONS_PER_CLIENT_MAX: '4', HEADERS_TIMEOUT_MS: '5000' });
    const greedy = [];
    for (let index = 0; index < 7; index += 1) greedy.push(await halfSent(port, GREEDY));
    sockets.push(...greedy.map((entry) => entry.socket));
    for (const ms of await Promise.all(greedy.slice(4).map((entry) => entry.closed))) assert.ok(ms < 500, `an excess connection was closed after ${Math.round(ms)} ms`);
    // The first four stay open: each can finish its request and is answered on it.
    assert.deepEqual(await Promise.all(greedy.slice(0, 4).map((entry) => finish(entry.socket))), [200, 200, 200, 200]);
    assert.equal(await get(port, OTHER), 200, 'another client is answered');

    // One warning for the three refusals, with their count, once the interval has passed.
    assert.equal(logs.refusals().length, 0, 'not one line per refused socket');
    const first = await logs.refusal(1);
    assert.equal(first['level'], 40);
    assert.deepEqual(first['refused'], { perClient: 3, serverFull: 0 });
    assert.equal(JSON.stringify(first).includes(GREEDY), false, 'privacy: no client address in the log');
    // A later refusal gets a line of its own, with only its own count.
    const later = await halfSent(port, GREEDY);
    sockets.push(later.socket);
    await later.closed;
    const second = await logs.refusal(2);
    assert.deepEqual(second['refused'], { perClient: 1, serverFull: 0 });
    assert.equal(logs.refusals().length, 2);

    // Freed slots are counted back: once the server has seen the greedy client's connections
    // close, it is served again.
    for (const entry of greedy) entry.socket.destroy();
    await Promise.all(greedy.slice(0, 4).map((entry) => serverClosed(entry)));
    assert.equal(await get(port, GREEDY), 200);
  });

  it('closes a slowloris connection (headers never finished) after HEADERS_TIMEOUT_MS', { timeout: 20_000 }, async () => {
    const { port, logs } = await start({ HEADERS_TIMEOUT_MS: '300' });
    const slow = await halfSent(port, SLOW);
    sockets.push(slow.socket);
    // The slowloris itself: a header line every 50 ms, each well inside any idle timeout.
    const trickle = setInterval(() => !slow.socket.destroyed && slow.socket.write('X-Slow: 1\r\n'), 50);
    const ms = await slow.closed;
    clearInterval(trickle);
    assert.ok(ms >= 250 && ms < 1500, `closed after ${Math.round(ms)} ms`);
    assert.equal(await get(port, OTHER), 200);
    assert.equal((await logs.refusal(1))['timedOut'], 1, 'the timed-out request is counted in the warning');
  });

  it('refuses connections beyond MAX_CONNECTIONS server-wide, and counts them in the warning', { timeout: 20_000 }, async () => {
    const { port, logs, serverClosed } = await start({ MAX_CONNECTIONS: '3', CONNECTIONS_PER_CLIENT_MAX: '100', HEADERS_TIMEOUT_MS: '5000' });
    const held = [];
    for (let index = 0; index < 3; index += 1) held.push(await halfSent(port, GREEDY));
    sockets.push(...held.map((entry) => entry.socket));
    const extra = await halfSent(port, OTHER);
    sockets.push(extra.socket);
    const ms = await extra.closed;
    assert.ok(ms < 500, `the connection over the server-wide cap was closed after ${Math.round(ms)} ms`);
    assert.deepEqual((await logs.refusal(1))['refused'], { perClient: 0, serverFull: 1 });
    for (const entry of held) entry.socket.destroy();
    await Promise.all(held.map((entry) => serverClosed(entry)));
    assert.equal(await get(port, OTHER), 200);
  });
});
