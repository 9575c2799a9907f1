import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { checkSchema, errorBodySchema, lookupResultSchema } from '../../src/api/schemas.js';
import { Network } from '../../src/net/connect.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { LiveChecker } from '../../src/probes/live-checker.js';
import type { CheckTarget, ServerChecker } from '../../src/probes/types.js';
import { buildTestApp } from '../helpers/app.js';
import { passingCheck, resolvingTo } from '../helpers/fakes.js';

const ADDRESS = '127.0.3.21';

/**
 * A plain IMAP server that counts connections. It greets at once, or, with `holdGreetings`, only
 * when the test calls `releaseGreetings()` (a check of it holds its slot until then).
 */
async function imapServer(options: { holdGreetings?: boolean } = {}) {
  let connections = 0;
  let holding = options.holdGreetings ?? false;
  const sockets = new Set<net.Socket>();
  const held: net.Socket[] = [];
  const greet = (socket: net.Socket) => socket.write('* OK ready\r\n');
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    if (holding) held.push(socket);
    else greet(socket);
    socket.on('data', (chunk) => {
      for (const line of chunk.toString().split('\r\n').filter(Boolean)) {
        const [tag, command] = line.split(' ');
        if (command === 'CAPABILITY') socket.write(`* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n${tag} OK done\r\n`);
        else if (command === 'LOGOUT') socket.end(`* BYE\r\n${tag} OK bye\r\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, ADDRESS, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    releaseGreetings() {
      holding = false;
      for (const socket of held.splice(0)) greet(socket);
    },
    close: () => new Promise<void>((resolve) => {
      sockets.forEach((socket) => socket.destroy());
      server.close(() => resolve());
    }),
  };
}

const network = new Network(resolvingTo(ADDRESS), new AddressPolicy(['127.0.3.0/24']));
const checker = (overrides: Partial<ConstructorParameters<typeof LiveChecker>[0]> = {}) =>
  new LiveChecker({ network, timeoutMs: 2_000, cacheTtlS: 60, concurrency: 4, targetLimitMax: 100, targetWindowMs: 60_000, ...overrides });

describe('LiveChecker: cache and limits', () => {
  let server: Awaited<ReturnType<typeof imapServer>>;
  before(async () => {
    server = await imapServer();
  });
  after(() => server.close());

  const target = (): CheckTarget => ({ host: 'imap.limits.test', port: server.port, protocol: 'imap', security: 'none' });

  it('reuses a result within the TTL, shares concurrent checks, and `fresh` bypasses the cache', async () => {
    const live = checker();
    const before = server.connections;
    const [first, second] = await Promise.all([live.check(target()), live.check(target())]);
    assert.equal(first.ok, true, JSON.stringify(first.error));
    assert.equal(second.ok, true);
    assert.equal(server.connections - before, 1, 'two concurrent callers share one check');
    const third = await live.check(target());
    assert.equal(third.cached, true);
    assert.equal(server.connections - before, 1);
    const fresh = await live.check(target(), { fresh: true });
    assert.equal(fresh.cached, undefined);
    assert.equal(server.connections - before, 2);
  });

  it('CHECK_CACHE_TTL_S=0 never reuses a result', async () => {
    const live = checker({ cacheTtlS: 0 });
    const before = server.connections;
    await live.check(target());
    await live.check(target());
    assert.equal(server.connections - before, 2);
  });

  it('limits connections per target address per window', async () => {
    const live = checker({ targetLimitMax: 2, cacheTtlS: 0 });
    const before = server.connections;
    const results = [];
    for (let i = 0; i < 4; i += 1) results.push(await live.check(target()));
    assert.deepEqual(results.map((check) => check.error?.code ?? 'ok'), ['ok', 'ok', 'rate_limited', 'rate_limited']);
    assert.equal(server.connections - before, 2, 'a limited check opens no connection');
    // Another name for the same address shares its budget (other addresses: test/integration/outbound-budgets.test.ts).
    const other = await live.check({ ...target(), host: 'other.limits.test' });
    assert.equal(other.error?.code, 'rate_limited');
    assert.equal(server.connections - before, 2);
  });

  it('bounds the checks running at once; a waiter gives up as busy when no slot frees in time', async () => {
    const slow = await imapServer({ holdGreetings: true });
    try {
      const live = checker({ concurrency: 1, cacheTtlS: 0, timeoutMs: 2_000, queueTimeoutMs: 100 });
      const slowTarget: CheckTarget = { host: 'slow.limits.test', port: slow.port, protocol: 'imap', security: 'none' };
      // The first check takes the only slot and holds it: its server does not greet until released.
      const first = live.check(slowTarget);
      // The second waits for the slot for its queue time (100 ms, the limit under test), then gives up.
      const second = await live.check({ ...slowTarget, host: 'slow2.limits.test' });
      assert.equal(second.error?.code, 'busy');
      slow.releaseGreetings();
      const done = await first;
      assert.equal(done.ok, true, JSON.stringify(done.error));
      assert.equal(slow.connections, 1, 'the waiter that gave up never connected');
    } finally {
      await slow.close();
    }
  });
});

describe('GET /v1/check', () => {
  let app: FastifyInstance;
  const calls: CheckTarget[] = [];
  /** Answers from the target, so route logic is tested without sockets. */
  const fake: ServerChecker = {
    async check(target) {
      calls.push(target);
      const base = passingCheck(target, { capabilities: ['IMAP4REV1'], authMechanisms: ['PLAIN'] });
      if (target.host.startsWith('busy.')) return { ...base, ok: false, error: { code: 'busy', message: 'too many' } };
      if (target.host.startsWith('hot.')) return { ...base, ok: false, error: { code: 'rate_limited', message: 'too many checks of hot' } };
      return base;
    },
  };
  before(async () => {
    app = await buildTestApp({ CHECK_RATE_LIMIT_MAX: '5' }, { checker: fake });
  });
  after(() => app.close());

  const get = (url: string, ip = '203.0.113.7') => app.inject({ method: 'GET', url, remoteAddress: ip });

  it('runs a check and returns it', async () => {
    const response = await get('/v1/check?host=Mail.Example.TEST&port=993&protocol=imap&security=tls');
    assert.equal(response.statusCode, 200);
    const body = checkSchema.parse(response.json());
    assert.equal(body.ok, true);
    assert.deepEqual(calls.at(-1), { host: 'mail.example.test', port: 993, protocol: 'imap', security: 'tls' });
  });

  it('refuses ports outside the mail ports with 400 invalid_input', async () => {
    // (Invalid requests count against the client's rate limit too: one client address per request here.)
    for (const [index, port] of ['22', '80', '8080', '0', '99999', 'abc'].entries()) {
      const response = await get(`/v1/check?host=mail.example.test&port=${port}&protocol=imap&security=tls`, `203.0.113.${100 + index}`);
      assert.equal(response.statusCode, 400, port);
      assert.equal(errorBodySchema.parse(response.json()).error.code, 'invalid_input');
    }
  });

  it('refuses IP literals, single labels and bad protocol or security with 400', async () => {
    for (const [index, query] of [
      'host=127.0.0.1&port=993&protocol=imap&security=tls',
      'host=[::1]&port=993&protocol=imap&security=tls',
      'host=localhost&port=993&protocol=imap&security=tls',
      'host=mail.example.test&port=993&protocol=http&security=tls',
      'host=mail.example.test&port=993&protocol=imap&security=ssl',
      'port=993&protocol=imap&security=tls',
    ].entries()) {
      const response = await get(`/v1/check?${query}`, `203.0.113.${120 + index}`);
      assert.equal(response.statusCode, 400, query);
      assert.equal(response.json().error.code, 'invalid_input');
    }
  });

  it('maps a per-target limit to 429 and a full service to 503, with Retry-After', async () => {
    const hot = await get('/v1/check?host=hot.example.test&port=993&protocol=imap&security=tls', '203.0.113.10');
    assert.equal(hot.statusCode, 429);
    assert.equal(hot.json().error.code, 'rate_limited');
    assert.ok(Number(hot.headers['retry-after']) > 0);
    const busy = await get('/v1/check?host=busy.example.test&port=993&protocol=imap&security=tls', '203.0.113.10');
    assert.equal(busy.statusCode, 503);
    assert.equal(busy.json().error.code, 'busy');
  });

  it('rate limits each client (CHECK_RATE_LIMIT_MAX) with a 429 rate_limited body and Retry-After', async () => {
    const url = '/v1/check?host=mail.example.test&port=587&protocol=smtp&security=starttls';
    const statuses = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await get(url, '198.51.100.20')).statusCode);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    const limited = await get(url, '198.51.100.20');
    assert.equal(limited.statusCode, 429);
    assert.deepEqual(Object.keys(limited.json()), ['error']);
    assert.equal(limited.json().error.code, 'rate_limited');
    assert.match(limited.json().error.message, /retry/i);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    // Another client is unaffected; two addresses of one IPv6 /64 share a bucket.
    assert.equal((await get(url, '198.51.100.21')).statusCode, 200);
    for (let i = 0; i < 5; i += 1) assert.equal((await get(url, `2001:db8:1:2::${i + 1}`)).statusCode, 200);
    assert.equal((await get(url, '2001:db8:1:2::99')).statusCode, 429);
  });

  it('lookup?check=true puts a check on every server', async () => {
    const response = await get('/v1/lookup?domain=example-mail.test&check=true', '203.0.113.30');
    assert.equal(response.statusCode, 200);
    const body = lookupResultSchema.parse(response.json());
    const servers = [...body.incoming, ...body.outgoing];
    assert.ok(servers.length >= 4);
    for (const server of servers) {
      assert.equal(server.check?.host, server.host);
      assert.equal(server.check?.port, server.port);
      assert.equal(server.check?.protocol, server.protocol);
      assert.equal(server.check?.security, server.security);
    }
  });
});

describe('GET /v1/check with the real checker', () => {
  it('a host resolving to a refused address gives 200 ok:false forbidden_target and opens no socket', async () => {
    const listener = await imapServer();
    let app: FastifyInstance | undefined;
    try {
      // The name resolves to the loopback listener, but the policy does not allow loopback.
      const refused = new Network(resolvingTo(ADDRESS), new AddressPolicy([]));
      app = await buildTestApp({}, { network: refused });
      const response = await app.inject({ method: 'GET', url: `/v1/check?host=evil.example.test&port=993&protocol=imap&security=tls` });
      assert.equal(response.statusCode, 200);
      const body = checkSchema.parse(response.json());
      assert.equal(body.ok, false);
      assert.equal(body.error?.code, 'forbidden_target');
      // Security: the refusal names neither the internal address nor the rule (debug logs only).
      assert.equal(body.address, null);
      assert.ok(!response.body.includes(ADDRESS), response.body);
      assert.ok(!/loopback|private|range/i.test(body.error?.message ?? ''), body.error?.message);
      assert.equal(listener.connections, 0);
    } finally {
      await app?.close();
      await listener.close();
    }
  });
});
