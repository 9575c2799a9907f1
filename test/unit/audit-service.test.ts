import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { auditResultSchema } from '../../src/api/audit.js';
import type { Check } from '../../src/api/schemas.js';
import pino from 'pino';
import { AuditService, MAX_CHECKS_PER_AUDIT, type AuditOutcome } from '../../src/lookup/audit.js';
import { WindowCounter } from '../../src/probes/budgets.js';
import type { CheckTarget, ServerChecker } from '../../src/probes/types.js';
import type { CandidateServer, Source, SourceContext, SourceResult } from '../../src/sources/types.js';
import { passingCheck } from '../helpers/fakes.js';

const DOMAIN = 'audit.test';

/** Answers every check from memory and records what it was asked. */
class RecordingChecker implements ServerChecker {
  readonly calls: CheckTarget[] = [];
  async check(target: CheckTarget): Promise<Check> {
    this.calls.push(target);
    return passingCheck(target, { address: `addr-of-${target.host}` });
  }
}

const candidate = (host: string, port = 993, protocol: CandidateServer['protocol'] = 'imap'): CandidateServer => ({
  protocol, host, port, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: `test:${host}`, trusted: true,
});

function source(name: string, priority: number, lookup: (context: SourceContext) => Promise<SourceResult>, extra: Partial<Source> = {}): Source {
  return { name, priority, lookup, ...extra };
}
const finding = (name: string, priority: number, servers: CandidateServer[], extra: Partial<Source> = {}) =>
  source(name, priority, async () => ({ outcome: 'found', servers }), extra);
const nothing = (name: string, priority: number, extra: Partial<Source> = {}) => source(name, priority, async () => ({ outcome: 'not-found' }), extra);

function service(sources: Source[], overrides: Partial<ConstructorParameters<typeof AuditService>[0]> = {}) {
  const checker = new RecordingChecker();
  const clientChecks = new WindowCounter({ max: 100, windowMs: 60_000 });
  const audits = new AuditService({
    sources, checker, clientChecks, log: pino({ level: 'silent' }), deadlineMs: 2_000, cacheTtlS: 60, maxConcurrent: 8, maxPerClient: 2, ...overrides,
  });
  return { audits, checker, clientChecks };
}

function done(outcome: AuditOutcome) {
  assert.ok(outcome.ok, JSON.stringify(outcome));
  return auditResultSchema.parse(outcome.audit);
}

describe('AuditService', () => {
  it('runs every source to its end (no early stop), checks each distinct server once, guesses only when nothing is published', async () => {
    let guessed = 0;
    let slowEnded = false;
    // Answers an event-loop turn after the others, which answer at once: a lookup would have
    // stopped at the provider database's answer by then; the audit waits.
    const slow = source('srv', 30, async () => {
      await nextTurn();
      slowEnded = true;
      return { outcome: 'found', servers: [candidate('imap.audit.test')] };
    });
    const { audits, checker } = service([
      finding('provider-db', 0, [candidate('imap.audit.test'), candidate('smtp.audit.test', 465, 'smtp')], { local: true }),
      slow,
      finding('http-autoconfig', 50, [candidate('oldmail.audit.test')]),
      source('guess', 100, async () => ((guessed += 1), { outcome: 'not-found' }), { fallback: true }),
    ]);
    const audit = done(await audits.audit(DOMAIN, { client: 'a' }));
    assert.ok(slowEnded);
    assert.deepEqual(audit.methods.map((method) => [method.name, method.outcome]), [['provider-db', 'found'], ['srv', 'found'], ['http-autoconfig', 'found'], ['guess', 'skipped']]);
    assert.equal(guessed, 0);
    assert.deepEqual(audit.servers.map((server) => [server.id, server.methods]), [
      ['imap:imap.audit.test:993:tls', ['provider-db', 'srv']],
      ['imap:oldmail.audit.test:993:tls', ['http-autoconfig']],
      ['smtp:smtp.audit.test:465:tls', ['provider-db']],
    ]);
    assert.deepEqual(checker.calls.map((call) => call.host).sort(), ['imap.audit.test', 'oldmail.audit.test', 'smtp.audit.test']);
    assert.deepEqual(audit.findings.map((entry) => entry.code), ['sources_disagree', 'http_only_autoconfig']);
    assert.equal(audit.ok, true);
    assert.deepEqual(audit.summary, { errors: 0, warnings: 2, notes: 0 });

    const { audits: nothingPublished } = service([nothing('srv', 30), finding('guess', 100, [candidate('mail.audit.test')], { fallback: true })]);
    const guessedAudit = done(await nothingPublished.audit(DOMAIN, { client: 'a' }));
    assert.equal(guessedAudit.methods.find((method) => method.name === 'guess')?.outcome, 'found');
    assert.deepEqual(guessedAudit.findings.map((entry) => entry.code), ['no_settings_published', 'srv_missing']);
    assert.equal(guessedAudit.ok, false);
  });

  it('a source that hangs past the deadline is reported as timeout, and one that throws as error', async () => {
    const { audits } = service(
      [source('autoconfig', 10, () => new Promise(() => {})), source('ispdb', 20, async () => { throw new Error('bug'); }), finding('srv', 30, [candidate('imap.audit.test')])],
      { deadlineMs: 150 },
    );
    const started = performance.now();
    const audit = done(await audits.audit(DOMAIN, { client: 'a' }));
    assert.ok(performance.now() - started < 1_500, 'bounded by the deadline');
    assert.deepEqual(audit.methods.map((method) => [method.name, method.outcome, method.error ?? null]), [
      ['autoconfig', 'timeout', null],
      ['ispdb', 'error', 'internal_error'],
      ['srv', 'found', null],
    ]);
    assert.match(audit.methods[0]?.detail ?? '', /150 ms audit deadline/);
  });

  it('asks the autoconfig host again with postmaster@<domain> and reports a host that requires the address', async () => {
    const asked: (string | null)[] = [];
    const autoconfig = source('autoconfig', 10, async ({ subject }) => {
      asked.push(subject.email);
      return subject.email ? { outcome: 'found', servers: [candidate('imap.audit.test')], url: 'https://autoconfig.audit.test/mail/config-v1.1.xml' } : { outcome: 'not-found', detail: 'HTTP 404' };
    });
    const { audits } = service([autoconfig, finding('srv', 30, [candidate('imap.audit.test')])]);
    const audit = done(await audits.audit(DOMAIN, { client: 'a' }));
    assert.deepEqual(asked, [null, `postmaster@${DOMAIN}`]);
    assert.equal(audit.methods[0]?.outcome, 'found');
    assert.match(audit.methods[0]?.detail ?? '', /answered only with \?emailaddress= \(without it: HTTP 404\)/);
    assert.deepEqual(audit.findings.map((entry) => entry.code), ['autoconfig_requires_emailaddress']);

    // A host that does not exist is not asked twice.
    asked.length = 0;
    const { audits: absent } = service([
      source('autoconfig', 10, async ({ subject }) => (asked.push(subject.email), { outcome: 'not-found', detail: 'autoconfig.audit.test does not exist' })),
    ]);
    done(await absent.audit(DOMAIN, { client: 'a' }));
    assert.deepEqual(asked, [null]);
  });

  it('charges each live check to the client; refused checks are notes and such an audit is not cached', async () => {
    const servers = [candidate('a.audit.test'), candidate('b.audit.test'), candidate('c.audit.test')];
    const clientChecks = new WindowCounter({ max: 2, windowMs: 60_000 });
    const { audits, checker } = service([finding('autoconfig', 10, servers)], { clientChecks });
    const first = done(await audits.audit(DOMAIN, { client: 'a' }));
    assert.deepEqual(first.servers.map((server) => server.check.error?.code ?? 'ok'), ['ok', 'ok', 'rate_limited'], 'the best-ranked servers are checked');
    assert.deepEqual(first.findings.map((entry) => [entry.code, entry.severity]), [['check_skipped', 'info']]);
    assert.equal(checker.calls.length, 2);
    const again = done(await audits.audit(DOMAIN, { client: 'b' }));
    assert.equal(again.cached, false, 'an audit with refused checks is run again');
  });

  it('reuses an audit within CHECK_CACHE_TTL_S; fresh runs it again; at most MAX_CHECKS_PER_AUDIT servers are checked', async () => {
    const many = Array.from({ length: MAX_CHECKS_PER_AUDIT + 2 }, (_, index) => candidate(`host${index}.audit.test`));
    let runs = 0;
    const { audits, checker } = service([source('autoconfig', 10, async () => ((runs += 1), { outcome: 'found', servers: many }))]);
    const first = done(await audits.audit(DOMAIN, { client: 'a' }));
    assert.equal(checker.calls.length, MAX_CHECKS_PER_AUDIT);
    assert.deepEqual(first.servers.slice(MAX_CHECKS_PER_AUDIT).map((server) => server.check.error?.code), ['busy', 'busy']);
    assert.equal(first.cached, false);
    // Refused (busy) checks make it uncacheable: ask for a cacheable one below.
    const { audits: cacheable, checker: counted } = service([source('autoconfig', 10, async () => ((runs += 1), { outcome: 'found', servers: many.slice(0, 2) }))]);
    runs = 0;
    done(await cacheable.audit(DOMAIN, { client: 'a' }));
    const hit = done(await cacheable.audit(DOMAIN, { client: 'b' }));
    assert.equal(hit.cached, true);
    assert.equal(runs, 1);
    assert.equal(counted.calls.length, 2);
    const fresh = done(await cacheable.audit(DOMAIN, { client: 'b', fresh: true }));
    assert.equal(fresh.cached, false);
    assert.equal(runs, 2);
  });

  it('refuses a client beyond AUDIT_PER_CLIENT_MAX (rate_limited) and everyone beyond AUDIT_CONCURRENCY (busy)', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const blocking = source('autoconfig', 10, async () => (await gate, { outcome: 'not-found' }));
    const { audits } = service([blocking], { maxPerClient: 1, maxConcurrent: 2 });
    const first = audits.audit('one.audit.test', { client: 'a' });
    const mine = await audits.audit('two.audit.test', { client: 'a' });
    assert.equal(mine.ok ? 'ok' : mine.code, 'rate_limited');
    const second = audits.audit('three.audit.test', { client: 'b' });
    const third = await audits.audit('four.audit.test', { client: 'c' });
    assert.equal(third.ok ? 'ok' : third.code, 'busy');
    release();
    assert.ok((await first).ok);
    assert.ok((await second).ok);
    // Slots are given back.
    assert.ok((await audits.audit('five.audit.test', { client: 'a' })).ok);
  });
});
