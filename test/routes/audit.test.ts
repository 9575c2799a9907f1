import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { after, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { auditResultSchema } from '../../src/api/audit.js';
import { errorBodySchema } from '../../src/api/schemas.js';
import type { CandidateServer, Source } from '../../src/sources/types.js';
import { buildTestApp } from '../helpers/app.js';
import { PassingChecker } from '../helpers/fakes.js';

const server = (host: string, port: number, protocol: CandidateServer['protocol']): CandidateServer => ({
  protocol, host, port, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: `test:${host}`, trusted: true,
});

/** Sources of a small world: an autoconfig naming two servers (once `gate` opens; `onStart` hears each start), no SRV. */
function sources(gate?: Promise<void>, onStart?: () => void): Source[] {
  return [
    {
      name: 'autoconfig',
      priority: 10,
      lookup: async () => {
        onStart?.();
        await gate;
        return { outcome: 'found', servers: [server('imap.audit.test', 993, 'imap'), server('smtp.audit.test', 465, 'smtp')] };
      },
    },
    { name: 'srv', priority: 30, lookup: async () => ({ outcome: 'not-found', detail: 'no SRV records for mail services' }) },
  ];
}

describe('GET /v1/audit', () => {
  const apps: FastifyInstance[] = [];
  after(() => Promise.all(apps.map((app) => app.close())));
  async function build(overrides: Parameters<typeof buildTestApp>[0] = {}, gate?: Promise<void>, onStart?: () => void) {
    const checker = new PassingChecker();
    const app = await buildTestApp(overrides, { sources: sources(gate, onStart), checker });
    apps.push(app);
    return { app, checker };
  }
  const get = (app: FastifyInstance, url: string, remoteAddress = '127.0.0.1') => app.inject({ method: 'GET', url, remoteAddress });

  it('answers bad input with 400 invalid_input, like the lookup route', async () => {
    const { app, checker } = await build();
    for (const url of ['/v1/audit', '/v1/audit?domain=', '/v1/audit?domain=127.0.0.1', '/v1/audit?domain=localhost', '/v1/audit?domain=a%2Fb.test', '/v1/audit?fresh=maybe&domain=audit.test']) {
      const response = await get(app, url);
      assert.equal(response.statusCode, 400, url);
      assert.equal(errorBodySchema.parse(response.json()).error.code, 'invalid_input', url);
    }
    assert.equal(checker.calls, 0, 'nothing was checked');
  });

  it('reports each method, each server checked, and findings with their fixes; a repeat comes from the cache', async () => {
    const { app, checker } = await build();
    const response = await get(app, '/v1/audit?domain=Audit.Test');
    assert.equal(response.statusCode, 200);
    const audit = auditResultSchema.parse(response.json());
    assert.equal(audit.domain, 'audit.test');
    assert.deepEqual(audit.methods.map((method) => [method.name, method.outcome, method.agreement]), [['autoconfig', 'found', 'alone'], ['srv', 'not-found', 'n/a']]);
    assert.deepEqual(audit.servers.map((entry) => [entry.id, entry.check.ok]), [['imap:imap.audit.test:993:tls', true], ['smtp:smtp.audit.test:465:tls', true]]);
    assert.deepEqual(audit.findings.map((entry) => [entry.code, entry.severity]), [['srv_missing', 'warning']]);
    assert.match(audit.findings[0]?.fix ?? '', /_imaps\._tcp/);
    assert.equal(audit.cached, false);
    assert.equal(checker.calls, 2);
    const again = auditResultSchema.parse((await get(app, '/v1/audit?domain=audit.test')).json());
    assert.equal(again.cached, true);
    assert.equal(checker.calls, 2);
  });

  it('counts against the live-check budget shared with /v1/check: the request and each check', async () => {
    const { app } = await build({ CHECK_RATE_LIMIT_MAX: '3' });
    // One for the request, one per server (two): the budget of three is used up.
    assert.equal((await get(app, '/v1/audit?domain=audit.test')).statusCode, 200);
    const refused = await get(app, '/v1/audit?domain=audit.test');
    assert.equal(refused.statusCode, 429);
    assert.equal(errorBodySchema.parse(refused.json()).error.code, 'rate_limited');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    const check = await get(app, '/v1/check?host=imap.audit.test&port=993&protocol=imap&security=tls');
    assert.equal(check.statusCode, 429, 'the same budget as /v1/check');
    assert.equal((await get(app, '/v1/audit?domain=audit.test', '127.0.0.2')).statusCode, 200, 'another client has its own');
  });

  it('refuses a second running audit of one client (429) and audits beyond AUDIT_CONCURRENCY (503), never hanging', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Each audit that starts its sources (and so holds its slots) says so.
    const starts = new EventEmitter();
    const onStart = () => starts.emit('start');
    const { app } = await build({ AUDIT_PER_CLIENT_MAX: '1', AUDIT_CONCURRENCY: '2' }, gate, onStart);
    const firstStarted = once(starts, 'start');
    const first = get(app, '/v1/audit?domain=one.audit.test');
    await firstStarted;
    const mine = await get(app, '/v1/audit?domain=two.audit.test');
    assert.equal(mine.statusCode, 429);
    assert.equal(errorBodySchema.parse(mine.json()).error.code, 'rate_limited');
    const secondStarted = once(starts, 'start');
    const second = get(app, '/v1/audit?domain=three.audit.test', '127.0.0.2');
    await secondStarted;
    const busy = await get(app, '/v1/audit?domain=four.audit.test', '127.0.0.3');
    assert.equal(busy.statusCode, 503);
    assert.equal(errorBodySchema.parse(busy.json()).error.code, 'busy');
    assert.ok(busy.headers['retry-after']);
    release();
    assert.equal((await first).statusCode, 200);
    assert.equal((await second).statusCode, 200);
  });

  it('is in the OpenAPI document with the closed list of finding codes', async () => {
    const { app } = await build();
    const document = (await get(app, '/openapi.json')).json() as { paths: Record<string, { get?: { responses?: Record<string, unknown> } }> };
    const answer = JSON.stringify(document.paths['/v1/audit']?.get?.responses?.['200']);
    for (const code of ['http_only_autoconfig', 'sources_disagree', 'srv_missing', 'certificate_expires_soon', 'pacc_digest_mismatch', 'autoconfig_requires_emailaddress']) {
      assert.ok(answer.includes(`"${code}"`), code);
    }
  });
});
