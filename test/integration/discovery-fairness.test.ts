import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { buildApp, createNetwork } from '../../src/app.js';
import { type EnvName } from '../../src/config/env.js';
import { testConfig } from '../helpers/config.js';
import type { ProviderDb } from '../../src/provider-db/provider-db.js';
import { createProviderDbSource } from '../../src/sources/provider-db.js';
import { createSrvSource } from '../../src/sources/srv.js';
import { loadTestProviderDb } from '../helpers/app.js';
import { TestDnsServer } from '../helpers/dns-server.js';

// Loopback world of this file (127.0.9.0/24 only): DNS 127.0.9.3. No HTTP server is needed: every
// name that is not a black hole answers NXDOMAIN at once, and the victim domain answers by SRV.
const DNS = '127.0.9.3';
// Long enough that the flood is still holding its slots when the victim asks, short for a test.
const DNS_TIMEOUT_MS = 600;

describe('fair use of discovery slots (black-hole DNS flood from several clients)', () => {
  let providerDb: ProviderDb;
  const dns = new TestDnsServer(DNS);
  const apps: FastifyInstance[] = [];

  const makeApp = async (
    overrides: Partial<Record<EnvName, string>> = {},
    options: { srvOnly?: boolean; beforeReady?: (instance: FastifyInstance) => void } = {},
  ) => {
    const config = testConfig({
      DNS_SERVERS: dns.server,
      DNS_TIMEOUT_MS: String(DNS_TIMEOUT_MS),
      DNS_TRIES: '1',
      PROBE_ALLOW_CIDRS: '127.0.9.0/24',
      ISPDB_URL: '',
      LOOKUP_TIMEOUT_MS: '4000',
      ...overrides,
    });
    // srvOnly: six DNS questions a discovery instead of about twenty-five. The test DNS server
    // shares this process's busy event loop, so a burst of a thousand questions overflows its
    // socket's receive buffer (about 256 datagrams) and drops the victim's questions too, which a
    // resolver in its own process does not (tried: 3,000 at once, all received).
    const network = createNetwork(config);
    const sources = options.srvOnly ? [createProviderDbSource(providerDb), createSrvSource(network.dns)] : undefined;
    const instance = await buildApp(config, { providerDb, network, ...(sources ? { sources } : {}) });
    options.beforeReady?.(instance);
    await instance.ready();
    apps.push(instance);
    return instance;
  };

  before(async () => {
    providerDb = await loadTestProviderDb();
    for (const zone of ['blackhole.test', 'blackhole2.test', 'blackhole3.test']) {
      dns.set(zone, 'timeout');
      dns.set(`*.${zone}`, 'timeout');
    }
    dns.set('servfail.test', 'servfail');
    dns.set('*.servfail.test', 'servfail');
    for (const name of ['victim.fair.test', 'victim2.fair.test']) {
      dns.set(`_imaps._tcp.${name}`, [{ type: 'SRV', target: `imap.${name}`, port: 993, priority: 0, weight: 0 }]);
    }
    await dns.start();
  });

  after(async () => {
    for (const instance of apps) await instance.close();
    await dns.stop();
  });

  const lookup = (instance: FastifyInstance, query: string, remoteAddress: string) =>
    instance.inject({ method: 'GET', url: `/v1/lookup?${query}`, remoteAddress });

  it('8 clients × 8 black-hole lookups (each inside its rate limit) leave another client\'s new lookup answered, not 503', async () => {
    // The finding, with the default DISCOVERY_CONCURRENCY (64) and rate limit (60 per client).
    // Each flood request is counted in its last hook before the handler, which asks the resolver
    // for a discovery at once (and is given a slot or refused).
    let counted = 0;
    let allIn: () => void = () => {};
    const floodIn = new Promise<void>((resolve) => (allIn = resolve));
    const app = await makeApp({}, {
      srvOnly: true,
      beforeReady: (instance) =>
        instance.addHook('preHandler', (request, _reply, done) => {
          if (request.url.includes('blackhole.test') && (counted += 1) === 64) allIn();
          done();
        }),
    });
    const flood: Promise<{ statusCode: number; headers: Record<string, unknown>; json(): { error: { code: string } } }>[] = [];
    for (let client = 0; client < 8; client += 1) {
      for (let index = 0; index < 8; index += 1) {
        flood.push(lookup(app, `domain=c${client}-${index}.blackhole.test`, `127.0.9.${10 + client}`));
      }
    }
    // Every flood request has reached the resolver (refused or running) before the victim asks.
    await floodIn;
    await nextTurn();
    assert.equal(app.services.discoverer.running, 32, 'the flood is holding discovery slots');
    const victim = await lookup(app, 'domain=victim.fair.test', '127.0.9.50');
    assert.equal(victim.statusCode, 200, victim.body);
    // Their black-hole DNS questions have not timed out yet: the slots were still held.
    assert.equal(app.services.discoverer.running, 32, 'answered while the flood still held its slots');

    const responses = await Promise.all(flood);
    const refused = responses.filter((response) => response.statusCode === 429);
    assert.equal(refused.length, 32, 'each client gets DISCOVERY_PER_CLIENT_MAX (4) discoveries at once; the rest are refused');
    for (const response of refused) {
      assert.equal(response.json().error.code, 'rate_limited');
      assert.ok(Number(response.headers['retry-after']) >= 1);
    }
    assert.ok(responses.every((response) => response.statusCode === 404 || response.statusCode === 429));
  });

  it('remembers a zone whose DNS servers time out: a new variant is answered at once, without asking the zone, and says why', async () => {
    const app = await makeApp();
    const first = await lookup(app, 'domain=a.blackhole2.test', '127.0.9.20');
    assert.equal(first.statusCode, 404);
    const startedAt = performance.now();
    const second = await lookup(app, 'domain=b.blackhole2.test', '127.0.9.21');
    const ms = performance.now() - startedAt;
    assert.equal(second.statusCode, 404);
    assert.ok(ms < DNS_TIMEOUT_MS, `the variant held no slot for a DNS timeout (${Math.round(ms)} ms)`);
    assert.equal(dns.count('_imaps._tcp.b.blackhole2.test'), 0, 'the zone was not asked again');
    assert.equal(dns.count('autoconfig.b.blackhole2.test'), 0);
    const details = (second.json() as { sources: { name: string; detail?: string }[] }).sources.map((source) => `${source.name}: ${source.detail ?? ''}`).join('\n');
    assert.match(details, /blackhole2\.test/);
    assert.match(details, /not asked again/);
  });

  it('remembers a zone whose DNS servers answer SERVFAIL', async () => {
    const app = await makeApp();
    assert.equal((await lookup(app, 'domain=a.servfail.test', '127.0.9.22')).statusCode, 404);
    const second = await lookup(app, 'domain=b.servfail.test', '127.0.9.22');
    assert.equal(second.statusCode, 404);
    assert.equal(dns.count('_imaps._tcp.b.servfail.test'), 0, 'the zone was not asked again');
  });

  it('counts a discovery once: requests joining one already under way are never refused, whoever started it', async () => {
    const app = await makeApp({ DISCOVERY_PER_CLIENT_MAX: '2' });
    const own = [
      lookup(app, 'domain=x1.blackhole3.test', '127.0.9.30'),
      lookup(app, 'domain=x2.blackhole3.test', '127.0.9.30'),
    ];
    const started = lookup(app, 'domain=victim2.fair.test&check=false', '127.0.9.31');
    // 20 joiners from the same client: a shared discovery costs its client one slot.
    const joiners = Array.from({ length: 20 }, (_, index) => lookup(app, `email=u${index}%40x1.blackhole3.test`, '127.0.9.30'));
    const others = Array.from({ length: 5 }, () => lookup(app, 'domain=x2.blackhole3.test', '127.0.9.32'));
    const statuses = (await Promise.all([...own, ...joiners, ...others])).map((response) => response.statusCode);
    assert.deepEqual([...new Set(statuses)], [404]);
    assert.equal((await started).statusCode, 200);
  });
});
