import assert from 'node:assert/strict';
import { request as httpRequest, createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { EnvName } from '../../src/config/env.js';
import { corsHeaderPairs } from '../../src/plugins/cors.js';
import { LookupFastLane } from '../../src/routes/lookup-fast-lane.js';
import { buildTestApp, loadTestProviderDb, NO_DNS_SERVER } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';

/** One answer as the client sees it. */
interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request over a real socket (what the lane sees; app.inject goes to Fastify's handler directly). */
function send(port: number, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/** Headers that say something about the answer (not the connection or the clock, nor the test's marker). */
function answerHeaders(headers: IncomingHttpHeaders | Record<string, unknown>): Record<string, unknown> {
  const { date: _date, connection: _connection, 'keep-alive': _keepAlive, 'x-answered-by': _marker, ...rest } = headers as Record<string, unknown>;
  return rest;
}

/** Every pino line written, parsed. */
function logCapture(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

/**
 * An app listening on loopback whose Fastify path marks its answers (`x-answered-by: fastify`,
 * from a hook the lane does not run), so each test sees which path answered.
 */
async function markedApp(overrides: Partial<Record<EnvName, string>> = {}): Promise<{ app: FastifyInstance; port: number; logs: Record<string, unknown>[] }> {
  const logs = logCapture();
  const config = testConfig({ ISPDB_URL: '', DNS_SERVERS: NO_DNS_SERVER, DNS_TRIES: '1', LOG_LEVEL: 'info', ...overrides });
  const app = await buildApp(config, { providerDb: await loadTestProviderDb(), logStream: logs.stream });
  app.addHook('onRequest', function markFastify(_request, reply, done) {
    void reply.header('x-answered-by', 'fastify');
    done();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, port: (app.server.address() as AddressInfo).port, logs: logs.lines };
}

const LOOKUP = '/v1/lookup?domain=gmail.com';

describe('the lookup fast lane', () => {
  let app: FastifyInstance;
  let port: number;
  let logs: Record<string, unknown>[];
  before(async () => {
    ({ app, port, logs } = await markedApp());
  });
  after(() => app.close());

  it('answers a cached plain lookup with the status, headers and body Fastify gives', async () => {
    const first = await send(port, { path: LOOKUP });
    assert.equal(first.headers['x-answered-by'], 'fastify', 'a cache miss is Fastify’s');
    const lane = await send(port, { path: LOOKUP, headers: { origin: 'https://isp.example' } });
    assert.equal(lane.headers['x-answered-by'], undefined, 'a cached lookup is the lane’s');
    const fastify = await app.inject({ method: 'GET', url: LOOKUP, headers: { origin: 'https://isp.example' } });
    assert.equal(fastify.headers['x-answered-by'], 'fastify');
    assert.equal(lane.status, fastify.statusCode);
    assert.deepEqual(answerHeaders(lane.headers), answerHeaders(fastify.headers));
    assert.equal(lane.body, fastify.body);
    assert.equal(JSON.parse(lane.body).cached, true);
  });

  it('answers an address too, with its own usernames', async () => {
    await send(port, { path: LOOKUP });
    const path = `/v1/lookup?email=${encodeURIComponent('jane@gmail.com')}`;
    const lane = await send(port, { path });
    assert.equal(lane.headers['x-answered-by'], undefined);
    const fastify = await app.inject({ method: 'GET', url: path });
    assert.equal(lane.body, fastify.body);
    assert.equal(JSON.parse(lane.body).incoming[0].username, 'jane@gmail.com');
  });

  it('writes the request line Fastify writes, with a request id of the same sequence', async () => {
    await send(port, { path: LOOKUP });
    const before = logs.length;
    await send(port, { path: LOOKUP });
    await send(port, { path: `${LOOKUP}&check=false` });
    const [laneLine, fastifyLine] = logs.slice(before).filter((line) => line.msg === 'request');
    assert.ok(laneLine && fastifyLine, 'both requests logged');
    const shape = (line: Record<string, unknown>) => Object.keys(line).filter((key) => key !== 'time');
    assert.deepEqual(shape(laneLine), shape(fastifyLine));
    const { reqId: laneId, time: _laneTime, ms: _laneMs, ...laneRest } = laneLine;
    const { reqId: fastifyId, time: _fastifyTime, ms: _fastifyMs, ...fastifyRest } = fastifyLine;
    assert.deepEqual(laneRest, fastifyRest);
    assert.deepEqual(laneRest, { level: 30, pid: process.pid, hostname: laneRest.hostname, method: 'GET', route: '/v1/lookup', status: 200, domain: 'gmail.com', outcome: 'found', cached: true, msg: 'request' });
    // One counter for both paths: consecutive requests, consecutive ids.
    assert.equal(parseInt(String(fastifyId).slice(4), 36), parseInt(String(laneId).slice(4), 36) + 1);
  });

  it('counts what it answers in the response metrics', async () => {
    await send(port, { path: LOOKUP });
    const read = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const count = (text: string, series: string) => Number(text.split('\n').find((line) => line.startsWith(series))?.split(' ').at(-1) ?? 0);
    const lookups = 'mailsettings_lookups_total{outcome="found",cache="local"}';
    const durations = 'mailsettings_http_request_duration_seconds_count{method="GET",route="/v1/lookup",status_code="200"}';
    const beforeText = await read();
    const lane = await send(port, { path: LOOKUP });
    assert.equal(lane.headers['x-answered-by'], undefined);
    const afterText = await read();
    assert.equal(count(afterText, lookups), count(beforeText, lookups) + 1);
    assert.equal(count(afterText, durations), count(beforeText, durations) + 1);
  });

  const fastifysOwn: { why: string; method?: string; path: string; headers?: Record<string, string>; body?: string; status: number }[] = [
    { why: 'a HEAD request', method: 'HEAD', path: LOOKUP, status: 200 },
    { why: 'a POST', method: 'POST', path: LOOKUP, headers: { 'content-type': 'application/json' }, body: '{}', status: 404 },
    { why: 'a repeated parameter', path: `${LOOKUP}&domain=gmail.com`, status: 400 },
    { why: 'an extra parameter', path: `${LOOKUP}&check=false`, status: 200 },
    { why: 'another path', path: '/v1/lookup/?domain=gmail.com', status: 404 },
    { why: 'invalid input', path: '/v1/lookup?domain=localhost', status: 400 },
    { why: 'a domain not in the cache', path: '/v1/lookup?domain=never-cached.test', status: 404 },
  ];
  it('answers a GET with a body as Fastify does, ignoring the body', async () => {
    await send(port, { path: LOOKUP });
    const request = { path: LOOKUP, headers: { 'content-type': 'text/plain', 'content-length': '1' }, body: 'x' };
    const lane = await send(port, request);
    assert.equal(lane.headers['x-answered-by'], undefined);
    const fastify = await app.inject({ method: 'GET', url: LOOKUP, headers: request.headers, payload: request.body });
    assert.equal(lane.status, fastify.statusCode);
    assert.equal(lane.body, fastify.body);
    // The connection goes on: the next request on it is answered too.
    assert.equal((await send(port, { path: LOOKUP })).status, 200);
  });

  for (const request of fastifysOwn) {
    it(`leaves ${request.why} to Fastify`, async () => {
      await send(port, { path: LOOKUP });
      const answer = await send(port, request);
      assert.equal(answer.status, request.status);
      assert.equal(answer.headers['x-answered-by'], 'fastify');
    });
  }
});

describe('the lookup fast lane under a CORS_ORIGINS list', () => {
  let app: FastifyInstance;
  let port: number;
  before(async () => {
    ({ app, port } = await markedApp({ CORS_ORIGINS: 'https://help.isp-one.example' }));
    await send(port, { path: LOOKUP });
  });
  after(() => app.close());

  for (const origin of ['https://help.isp-one.example', 'https://evil.example', undefined]) {
    it(`sends Fastify's CORS headers for ${origin ?? 'no Origin'}`, async () => {
      const headers: Record<string, string> = origin ? { origin } : {};
      const lane = await send(port, { path: LOOKUP, headers });
      assert.equal(lane.headers['x-answered-by'], undefined);
      const fastify = await app.inject({ method: 'GET', url: LOOKUP, headers });
      assert.deepEqual(answerHeaders(lane.headers), answerHeaders(fastify.headers));
      assert.equal(lane.headers['access-control-allow-origin'], origin === 'https://help.isp-one.example' ? origin : undefined);
    });
  }
});

describe('a closed lookup fast lane', () => {
  it('passes every request on', async () => {
    const app = await buildTestApp();
    const lane = new LookupFastLane();
    let passedOn = 0;
    const server: Server = createServer(
      lane.listener((_request, response) => {
        passedOn += 1;
        response.writeHead(204).end();
      }),
    );
    try {
      await app.inject({ method: 'GET', url: LOOKUP });
      lane.open({ lookup: app.services.lookup, cors: corsHeaderPairs('*'), log: app.log, requestId: () => 'req-x', responses: undefined });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const serverPort = (server.address() as AddressInfo).port;
      assert.equal((await send(serverPort, { path: LOOKUP })).status, 200);
      assert.equal(passedOn, 0);
      lane.close();
      assert.equal((await send(serverPort, { path: LOOKUP })).status, 204);
      assert.equal(passedOn, 1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await app.close();
    }
  });
});

describe('the hooks of the lookup route', () => {
  it('are the ones the fast lane does the work of (add a hook: teach the lane, then this list)', async () => {
    const app = await buildTestApp();
    try {
      const lines = app.printRoutes({ includeHooks: true, commonPrefix: false }).split('\n');
      const start = lines.findIndex((line) => line.includes('v1/lookup (GET)'));
      assert.ok(start >= 0, 'the route is listed');
      const hooks: string[] = [];
      for (const line of lines.slice(start + 1)) {
        const hook = /• \((\w+)\) (\[.*\])$/.exec(line);
        if (!hook) break;
        hooks.push(`${hook[1]} ${hook[2]}`);
      }
      // onRequest: CORS (the lane sends corsHeaders). preHandler: the query's parsing (the lane
      // parses it with the same parser and rules), the discovery budget and its rate limit (a cached
      // answer costs nothing). onResponse: the request line and the metrics (the lane writes both)
      // and the budget's marker release (a cached answer sets none).
      assert.deepEqual(hooks, [
        'onRequest ["corsHeadersHook()"]',
        'preHandler ["parseLookupQuery()","decide()","anonymous()"]',
        'onResponse ["logRequest()","recordResponse()","releaseMarker()"]',
      ]);
    } finally {
      await app.close();
    }
  });
});
