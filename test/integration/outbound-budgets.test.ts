import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { lookupResultSchema } from '../../src/api/schemas.js';
import { Network } from '../../src/net/connect.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { addressKey } from '../../src/net/client-key.js';
import { TargetBudget } from '../../src/probes/budgets.js';
import { LiveChecker } from '../../src/probes/live-checker.js';
import type { CheckTarget, ServerChecker } from '../../src/probes/types.js';
import { createGuessSource, GUESS_PORTS } from '../../src/sources/guess.js';
import { buildTestApp } from '../helpers/app.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { autoconfigFinding, FakeDns, found, PassingChecker, passingCheck, resolvingTo } from '../helpers/fakes.js';

// (Every assert.ok has a message: without one, Node re-reads the transpiled source to make one, which can hang.)
// Loopback world of this file (127.0.7.0/24 only): one victim address per test, the DNS server
// on 127.0.7.53:5407. IPv6 addresses below are only ever keyed, refused or aborted before connecting.
const RANGE = '127.0.7.0/24';
const MAIL_PORTS = [...new Set(Object.values(GUESS_PORTS).flatMap((ports) => [ports.tls, ports.starttls]))];

/**
 * Listeners on `ports` of `address` that greet at once (so a client that got any byte was counted)
 * and hang up on the first line; `silent` ones never greet (they hold a check until it is stopped).
 */
async function countingListeners(address: string, ports: readonly number[], options: { silent?: boolean } = {}) {
  let connections = 0;
  const accepted = new EventEmitter();
  const sockets = new Set<net.Socket>();
  const greetings: Record<number, string> = { 993: '* OK\r\n', 143: '* OK\r\n', 995: '+OK\r\n', 110: '+OK\r\n', 465: '220 hi\r\n', 587: '220 hi\r\n' };
  const servers = await Promise.all(
    ports.map(async (port) => {
      const server = net.createServer((socket) => {
        connections += 1;
        accepted.emit('connection');
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => sockets.delete(socket));
        if (options.silent) return;
        socket.write(greetings[port] ?? '* OK\r\n');
        socket.once('data', () => socket.end());
      });
      await new Promise<void>((resolve) => server.listen(port, address, resolve));
      return server;
    }),
  );
  return {
    port: (servers[0]?.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    /** Resolves at the next accepted connection (call it before causing one). */
    nextConnection: async () => {
      await once(accepted, 'connection');
    },
    close: async () => {
      sockets.forEach((socket) => socket.destroy());
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

describe('addressKey: the per-target budget key', () => {
  it('is the address for IPv4, the /64 for IPv6, and the IPv4 address for IPv4-mapped IPv6', () => {
    assert.equal(addressKey('127.0.7.1'), '127.0.7.1');
    assert.notEqual(addressKey('127.0.7.1'), addressKey('127.0.7.2'));
    assert.equal(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:2:ffff:ffff:ffff:fffe'));
    assert.equal(addressKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('[2001:DB8:1:2::1]'), '2001:db8:1:2::/64');
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('::ffff:127.0.7.1'), '127.0.7.1');
    // Unusual IPv4 notations are keyed as the address they denote.
    assert.equal(addressKey('0x7f.0.7.1'), '127.0.7.1');
  });

  it('two IPv6 addresses of one /64 are one target: the second is refused before any socket is opened', async () => {
    const budget = new TargetBudget({ max: 1, windowMs: 60_000 });
    const names: Record<string, string> = { 'a.v6.test': '2001:db8:1:2::1', 'b.v6.test': '2001:db8:1:2::2', 'c.v6.test': '2001:db8:1:3::1' };
    const dns = new FakeDns({ addresses: (host) => (names[host] ? found([names[host]]) : undefined) });
    // The allow-list lets these documentation addresses past the policy, so the budget decides.
    const network = new Network(dns, new AddressPolicy(['2001:db8:1::/48']));
    // Security of the test itself: the signal is aborted, so an admitted attempt stops before connecting.
    const aborted = AbortSignal.abort();
    const attempt = (host: string) => network.connect({ host, port: 993, timeoutMs: 1_000, signal: aborted, budget });
    const first = await attempt('a.v6.test');
    assert.equal(first.ok ? 'ok' : first.code, 'timeout', 'admitted, then stopped by the aborted signal');
    const second = await attempt('b.v6.test');
    assert.equal(second.ok ? 'ok' : second.code, 'rate_limited', 'the same /64 shares the budget');
    assert.equal(second.ok ? null : second.address, '2001:db8:1:2::2');
    const third = await attempt('c.v6.test');
    assert.equal(third.ok ? 'ok' : third.code, 'timeout', 'another /64 has its own budget');
  });
});

describe('LiveChecker: the per-target limit is per address, not per name', () => {
  const VICTIM = '127.0.7.21';
  let listener: Awaited<ReturnType<typeof countingListeners>>;
  before(async () => {
    listener = await countingListeners(VICTIM, [0]);
  });
  after(() => listener.close());

  it('25 names for one address open at most CHECK_TARGET_LIMIT_MAX connections', async () => {
    const network = new Network(resolvingTo(VICTIM), new AddressPolicy([RANGE]));
    const live = new LiveChecker({ network, timeoutMs: 2_000, cacheTtlS: 60, concurrency: 32, targetLimitMax: 20, targetWindowMs: 60_000 });
    const targets: CheckTarget[] = Array.from({ length: 25 }, (_, i) => ({ host: `n${i}.victim.test`, port: listener.port, protocol: 'imap', security: 'none' }));
    const checks = await Promise.all(targets.map((target) => live.check(target)));
    assert.equal(listener.connections, 20);
    assert.equal(checks.filter((check) => check.error?.code === 'rate_limited').length, 5);
    const limited = checks.find((check) => check.error?.code === 'rate_limited');
    assert.equal(limited?.address, VICTIM);
    // A refusal is not cached: it is asked again (and refused again) rather than served from the cache.
    const again = await live.check(targets.find((target) => target.host === limited?.host) as CheckTarget);
    assert.equal(again.cached, undefined);
    assert.equal(again.error?.code, 'rate_limited');
    assert.equal(listener.connections, 20);
  });
});

describe('lookup?check=true counts every check against the client (CHECK_RATE_LIMIT_MAX)', () => {
  let app: FastifyInstance;
  const fake = new PassingChecker();
  const eight = autoconfigFinding(
    Array.from({ length: 8 }, (_, i) => ({
      protocol: 'imap' as const, host: `imap${i}.budget.test`, port: 993, security: 'tls' as const,
      username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: 'autoconfig:test', trusted: true,
    })),
  );
  before(async () => {
    app = await buildTestApp({ CHECK_RATE_LIMIT_MAX: '5' }, { checker: fake, sources: [eight] });
  });
  after(() => app.close());

  const get = (url: string, remoteAddress: string) => app.inject({ method: 'GET', url, remoteAddress });

  it('checks the best servers until the budget runs out; the rest say rate_limited, and /v1/check is then refused', async () => {
    const before = fake.calls;
    const response = await get('/v1/lookup?domain=budget.test&check=true', '198.51.100.70');
    assert.equal(response.statusCode, 200, 'the answer is still given');
    const body = lookupResultSchema.parse(response.json());
    assert.equal(fake.calls - before, 5);
    assert.deepEqual(body.incoming.map((server) => server.check?.error?.code ?? 'ok'), ['ok', 'ok', 'ok', 'ok', 'ok', 'rate_limited', 'rate_limited', 'rate_limited']);
    assert.match(body.incoming[7]?.check?.error?.message ?? '', /retry in \d+ s/);
    const check = await get('/v1/check?host=imap0.budget.test&port=993&protocol=imap&security=tls', '198.51.100.70');
    assert.equal(check.statusCode, 429);
    assert.equal(check.json().error.code, 'rate_limited');
    assert.ok(Number(check.headers['retry-after']) > 0, 'Retry-After');
    assert.equal(fake.calls - before, 5, 'the refused /v1/check asked no checker');
  });

  it('a client whose budget /v1/check used up gets its answer with every check rate_limited; others are unaffected', async () => {
    for (let i = 0; i < 5; i += 1) {
      assert.equal((await get('/v1/check?host=imap0.budget.test&port=993&protocol=imap&security=tls', '2001:db8:7:7::1')).statusCode, 200);
    }
    const before = fake.calls;
    // Another address of the same IPv6 /64 is the same client.
    const response = await get('/v1/lookup?domain=budget.test&check=true', '2001:db8:7:7::2');
    assert.equal(response.statusCode, 200);
    const body = lookupResultSchema.parse(response.json());
    assert.deepEqual(body.incoming.map((server) => server.check?.error?.code ?? 'ok'), Array(8).fill('rate_limited'));
    assert.equal(fake.calls, before);
    const other = lookupResultSchema.parse((await get('/v1/lookup?domain=budget.test&check=true', '198.51.100.71')).json());
    assert.equal(other.incoming.filter((server) => server.check?.ok).length, 5);
  });
});

describe('guessing goes through the live checker: per-address limit and concurrency slots', () => {
  const GUESSED = '127.0.7.30';
  const HOLD = '127.0.7.31';
  const DOMAIN = 'guessbudget.test';
  let listeners: Awaited<ReturnType<typeof countingListeners>>;
  let silent: Awaited<ReturnType<typeof countingListeners>>;
  before(async () => {
    listeners = await countingListeners(GUESSED, MAIL_PORTS);
    silent = await countingListeners(HOLD, [0], { silent: true });
  });
  after(async () => {
    await listeners.close();
    await silent.close();
  });

  const guess = (checker: LiveChecker, network: Network) =>
    createGuessSource({ network, checker, timeoutMs: 300 }).lookup({
      subject: { domain: DOMAIN, email: null, localPart: null },
      signal: AbortSignal.timeout(8_000),
      log: pino({ level: 'silent' }),
    });

  it('probes count against the per-address limit', async () => {
    const network = new Network(resolvingTo(GUESSED), new AddressPolicy([RANGE]));
    const checker = new LiveChecker({ network, timeoutMs: 1_500, cacheTtlS: 60, concurrency: 32, targetLimitMax: 3, targetWindowMs: 60_000 });
    const before = listeners.connections;
    const result = await guess(checker, network);
    assert.equal(listeners.connections - before, 3, 'every name resolves to one address: 3 connections in all');
    // Nothing proper answered and probes were refused: not a clean not-found (cached briefly).
    assert.equal(result.outcome, 'error');
  });

  it('probes wait for a concurrency slot and give up as busy rather than connect past the limit', async () => {
    const network = new Network(resolvingTo(GUESSED), new AddressPolicy([RANGE]));
    const holdNetwork = new Network(resolvingTo(HOLD), new AddressPolicy([RANGE]));
    const checker = new LiveChecker({ network: holdNetwork, timeoutMs: 5_000, cacheTtlS: 0, concurrency: 1, targetLimitMax: 1_000, targetWindowMs: 60_000 });
    const before = listeners.connections;
    // The only slot is held by a check of a server that never greets, until the test stops it.
    const stopHolding = new AbortController();
    const holding = silent.nextConnection();
    const held = checker.check({ host: 'hold.guessbudget.test', port: silent.port, protocol: 'imap', security: 'none' }, { signal: stopHolding.signal });
    await holding;
    // Each probe waits for the slot for its time limit (300 ms, the limit under test), then gives up.
    const result = await guess(checker, network);
    assert.equal(listeners.connections - before, 0, 'no probe connected while the slot was taken');
    assert.equal(result.outcome, 'error');
    assert.match(result.detail ?? '', /refused by the outbound connection budgets/);
    stopHolding.abort();
    assert.equal((await held).ok, false);
    assert.equal(silent.connections, 1);
  });
});

describe('goal: one client at the default limits opens at most CHECK_TARGET_LIMIT_MAX connections per window to one address', () => {
  const VICTIM = '127.0.7.40';
  const dns = new TestDnsServer('127.0.7.53', 5407);
  let listeners: Awaited<ReturnType<typeof countingListeners>>;
  let app: FastifyInstance;
  before(async () => {
    // Every name under flood.test is the victim; srv.flood.test publishes 12 SRV servers, all
    // different names of it.
    dns.set('*.flood.test', [{ type: 'A', address: VICTIM }]);
    dns.set('_imaps._tcp.srv.flood.test', Array.from({ length: 6 }, (_, i) => ({ type: 'SRV' as const, target: `imap${i}.flood.test`, port: 993, priority: 0, weight: 10 - i })));
    dns.set('_submission._tcp.srv.flood.test', Array.from({ length: 6 }, (_, i) => ({ type: 'SRV' as const, target: `smtp${i}.flood.test`, port: 587, priority: 0, weight: 10 - i })));
    await dns.start();
    listeners = await countingListeners(VICTIM, MAIL_PORTS);
    // Default limits; only the resolver, the allow-list and a short HTTP timeout are set.
    app = await buildTestApp({ DNS_SERVERS: dns.server, PROBE_ALLOW_CIDRS: RANGE, HTTP_TIMEOUT_MS: '500' });
  });
  after(async () => {
    await app.close();
    await listeners.close();
    await dns.stop();
  });

  it('through a mix of /v1/check, lookup?check=true and guessing', async () => {
    const { CHECK_TARGET_LIMIT_MAX } = app.services.config;
    const client = '198.51.100.80';
    const get = (url: string) => app.inject({ method: 'GET', url, remoteAddress: client });
    // Guessing: 18 probes per domain, every name the victim.
    const guessed = await Promise.all([get('/v1/lookup?domain=g1.flood.test'), get('/v1/lookup?domain=g2.flood.test')]);
    // Live checks of 12 published servers.
    const checked = await get('/v1/lookup?domain=srv.flood.test&check=true');
    // And 25 direct checks of 25 more names.
    const direct = await Promise.all(
      Array.from({ length: 25 }, (_, i) => get(`/v1/check?host=direct${i}.flood.test&port=993&protocol=imap&security=tls`)),
    );
    // Everything has answered: the counter is final.
    assert.ok(listeners.connections <= CHECK_TARGET_LIMIT_MAX, `${listeners.connections} connections to ${VICTIM}`);
    // Far more were asked for (36 probes, 12 checks, 25 checks): the budget was used up, not unused.
    assert.equal(listeners.connections, CHECK_TARGET_LIMIT_MAX);
    assert.deepEqual(guessed.map((response) => response.statusCode), [404, 404], 'nothing proper answered the guesses');
    assert.equal(checked.statusCode, 200, checked.body);
    const servers = lookupResultSchema.parse(checked.json());
    assert.equal(servers.incoming.length + servers.outgoing.length, 12);
    const statuses = direct.map((response) => response.statusCode);
    assert.ok(statuses.every((status) => status === 200 || status === 429), statuses.join(' '));
    assert.ok(statuses.includes(429), statuses.join(' '));
  });
});
