import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { lookupResultSchema } from '../../src/api/schemas.js';
import type { CheckTarget, ServerChecker } from '../../src/probes/types.js';
import { buildTestApp } from '../helpers/app.js';
import { autoconfigFinding, PassingChecker, passingCheck } from '../helpers/fakes.js';

describe('lookup?check=true: only mail ports are checked', () => {
  let app: FastifyInstance;
  const calls: CheckTarget[] = [];
  const fake: ServerChecker = {
    async check(target) {
      calls.push(target);
      return passingCheck(target);
    },
  };
  // An autoconfig document written by a stranger may name any host and any port.
  const stranger = autoconfigFinding([
    { protocol: 'imap', host: 'imap.ports.test', port: 993, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: 'autoconfig:test', trusted: true },
    { protocol: 'imap', host: 'victim.ports.test', port: 22, security: 'none', username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: 'autoconfig:test', trusted: true },
    { protocol: 'smtp', host: 'victim.ports.test', port: 6379, security: 'none', username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: 'autoconfig:test', trusted: true },
  ]);
  before(async () => {
    app = await buildTestApp({}, { checker: fake, sources: [stranger] });
  });
  after(() => app.close());

  it('refuses servers on other ports without asking the checker', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/lookup?domain=ports.test&check=true' });
    assert.equal(response.statusCode, 200);
    const body = lookupResultSchema.parse(response.json());
    const servers = [...body.incoming, ...body.outgoing];
    assert.deepEqual(calls.map((call) => call.port), [993]);
    for (const server of servers.filter((entry) => entry.port !== 993)) {
      assert.equal(server.check?.ok, false);
      assert.equal(server.check?.error?.code, 'forbidden_target');
    }
    assert.equal(servers.find((entry) => entry.port === 993)?.check?.ok, true);
  });
});

describe('lookup?check=true: bounded fan-out', () => {
  let app: FastifyInstance;
  const fake = new PassingChecker();
  // A document listing many servers: answers keep 10 per protocol, so IMAP and POP3 together give 20.
  const many = autoconfigFinding(
    Array.from({ length: 40 }, (_, i) => ({
      protocol: i % 2 === 0 ? ('imap' as const) : ('pop3' as const), host: `mail${i}.many.test`, port: i % 2 === 0 ? 993 : 995, security: 'tls' as const,
      username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: 'autoconfig:test', trusted: true,
    })),
  );
  before(async () => {
    app = await buildTestApp({ RATE_LIMIT_MAX: '2' }, { checker: fake, sources: [many] });
  });
  after(() => app.close());

  it('checks at most MAX_CHECKS_PER_LOOKUP servers of one answer, best first', async () => {
    const { MAX_CHECKS_PER_LOOKUP } = await import('../../src/lookup/check-answer.js');
    const before = fake.calls;
    const body = lookupResultSchema.parse((await app.inject({ url: '/v1/lookup?domain=many.test&check=true', remoteAddress: '198.51.100.60' })).json());
    assert.equal(fake.calls - before, MAX_CHECKS_PER_LOOKUP);
    assert.ok(body.incoming.length > MAX_CHECKS_PER_LOOKUP);
    assert.ok(body.incoming.slice(0, MAX_CHECKS_PER_LOOKUP).every((server) => server.check?.ok === true));
    assert.ok(body.incoming.slice(MAX_CHECKS_PER_LOOKUP).every((server) => server.check?.error?.code === 'busy'));
  });

  it('counts every check=true lookup against the per-client limit, even a cache hit', async () => {
    // A client of its own (RATE_LIMIT_MAX is 2 per client) and a domain of its own: the first
    // lookup is a discovery, which the others then hit in the cache.
    const get = (query: string) => app.inject({ url: `/v1/lookup?${query}`, remoteAddress: '198.51.100.61' });
    assert.equal((await get('domain=many2.test&check=true')).statusCode, 200);
    assert.equal((await get('domain=many2.test')).statusCode, 200, 'a plain cache hit is free');
    const hit = await get('domain=many2.test&check=true');
    assert.equal(hit.statusCode, 200);
    assert.equal(hit.json().cached, true);
    const limited = await get('domain=many2.test&check=true');
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error.code, 'rate_limited');
    assert.ok(limited.headers['retry-after']);
  });
});
