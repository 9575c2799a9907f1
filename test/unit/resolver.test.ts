import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ApiError } from '../../src/api/errors.js';
import type { LookupSubject } from '../../src/api/input.js';
import { rankServers } from '../../src/formats/rank.js';
import { Discoverer } from '../../src/resolver/discoverer.js';
import type { CandidateServer, Source, SourceContext, SourceResult } from '../../src/sources/types.js';

const subject: LookupSubject = { domain: 'example.test', email: null, localPart: null };
const log = { debug() {}, info() {}, warn() {}, error() {} };

function server(host: string, overrides: Partial<CandidateServer> = {}): CandidateServer {
  return { protocol: 'imap', host, port: 993, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: `test:${host}`, trusted: true, ...overrides };
}

interface Controlled extends Source {
  calls: number;
  aborted: boolean;
  /** Answers the lookup under way (throws when there is none: the test would otherwise wait for nothing). */
  resolveWith(result: SourceResult): void;
}

/** A source whose answer the test releases; it records whether its signal was aborted. */
function controlled(name: string, priority: number, options: { fallback?: boolean; companion?: boolean } = {}): Controlled {
  let release: ((result: SourceResult) => void) | undefined;
  const source: Controlled = {
    name,
    priority,
    ...(options.fallback ? { fallback: true } : {}),
    ...(options.companion ? { companion: true } : {}),
    calls: 0,
    aborted: false,
    resolveWith: (result) => {
      if (!release) throw new Error(`${name} was not asked`);
      release(result);
    },
    lookup(context: SourceContext) {
      source.calls += 1;
      return new Promise<SourceResult>((resolve) => {
        release = resolve;
        // As real sources do, an aborted lookup ends (a companion's report depends on it).
        context.signal.addEventListener('abort', () => {
          source.aborted = true;
          resolve({ outcome: 'timeout' });
        });
      });
    },
  };
  return source;
}

/** A source that has its answer at once. */
function immediate(name: string, priority: number, result: SourceResult): Source {
  return { name, priority, lookup: async () => result };
}

const found = (...hosts: string[]): SourceResult => ({ outcome: 'found', servers: hosts.map((host) => server(host)) });
/** One event-loop turn: every promise settled so far has run its callbacks (no clock involved). */
const tick = () => nextTurn();

/** The resolver's timers (deadline, grace, head start) on a clock the test moves with `t.mock.timers.tick`. */
const mockClock = (t: TestContext) => t.mock.timers.enable({ apis: ['setTimeout'] });

/** Tracks whether a promise has settled, for asserting that an answer is still held back. */
function tracked<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  const wrapped = promise.finally(() => {
    settled = true;
  });
  return { promise: wrapped, settled: () => settled };
}

describe('Discoverer: ranked, not raced', () => {
  it('waits for a better-ranked source even when a worse one answered first', async () => {
    const best = controlled('best', 10);
    const worse = immediate('worse', 30, found('worse.example.test'));
    const resolver = new Discoverer([worse, best]);
    const pending = tracked(resolver.resolve({ subject, deadlineMs: 5000, log }));
    await tick();
    assert.equal(pending.settled(), false, 'must not answer while a better-ranked source is pending');
    best.resolveWith(found('best.example.test'));
    const discovery = await pending.promise;
    assert.deepEqual(discovery.incoming.map((entry) => entry.host), ['best.example.test', 'worse.example.test']);
    assert.deepEqual(discovery.sources.map((entry) => [entry.name, entry.outcome]), [['best', 'found'], ['worse', 'found']]);
  });

  it('answers as soon as no better-ranked source is pending and aborts the worse ones', async () => {
    const best = immediate('best', 10, found('best.example.test'));
    const slow = controlled('slow', 30);
    const resolver = new Discoverer([slow, best]);
    // The slow source never answers: had the resolver waited for it, it would have ended at the
    // deadline with the slow source reported as a timeout, not skipped.
    const discovery = await resolver.resolve({ subject, deadlineMs: 5000, log });
    assert.equal(slow.aborted, true, 'the lower-ranked pending source is aborted');
    assert.deepEqual(discovery.incoming.map((entry) => entry.host), ['best.example.test']);
    const report = discovery.sources.find((entry) => entry.name === 'slow');
    assert.equal(report?.outcome, 'skipped');
    assert.match(report?.detail ?? '', /better-ranked/);
  });

  it('falls through to a lower-ranked source when the better ones find nothing', async () => {
    const resolver = new Discoverer([
      immediate('a', 10, { outcome: 'not-found' }),
      immediate('b', 20, { outcome: 'error', error: 'http_error' }),
      immediate('c', 30, found('c.example.test')),
    ]);
    const discovery = await resolver.resolve({ subject, deadlineMs: 5000, log });
    assert.equal(discovery.found, true);
    assert.equal(discovery.incoming[0]?.host, 'c.example.test');
    assert.equal(discovery.degraded, true);
  });

  it('gives up on pending sources at the deadline and reports them as timeout', async (t) => {
    mockClock(t);
    const hang = controlled('hang', 10);
    const resolver = new Discoverer([hang, immediate('low', 30, found('low.example.test'))]);
    const pending = tracked(resolver.resolve({ subject, deadlineMs: 150, log }));
    await tick();
    t.mock.timers.tick(149);
    await tick();
    assert.equal(pending.settled(), false, 'no answer before the deadline while a better source is pending');
    t.mock.timers.tick(1);
    const discovery = await pending.promise;
    assert.equal(hang.aborted, true);
    assert.equal(discovery.sources.find((entry) => entry.name === 'hang')?.outcome, 'timeout');
    assert.equal(discovery.incoming[0]?.host, 'low.example.test', 'what was found before the deadline is still used');
  });

  it('aborts every source when the client goes away', async () => {
    const a = controlled('a', 10);
    const b = controlled('b', 20);
    const client = new AbortController();
    const resolver = new Discoverer([a, b]);
    const promise = resolver.resolve({ subject, deadlineMs: 5000, log, signal: client.signal });
    await tick();
    client.abort();
    const discovery = await promise;
    assert.equal(a.aborted && b.aborted, true);
    assert.equal(discovery.found, false);
    assert.ok(discovery.sources.every((entry) => /cancelled/.test(entry.detail ?? '')));
  });

  it('runs fallback sources only when nothing else found anything', async () => {
    const guess = immediate('guess', 100, found('guess.example.test'));
    Object.assign(guess, { fallback: true });
    let guessCalls = 0;
    const counted: Source = { ...guess, lookup: (context) => ((guessCalls += 1), guess.lookup(context)) };
    const none = await new Discoverer([immediate('a', 10, { outcome: 'not-found' }), counted]).resolve({ subject, deadlineMs: 5000, log });
    assert.equal(guessCalls, 1);
    assert.equal(none.incoming[0]?.host, 'guess.example.test');
    const some = await new Discoverer([immediate('a', 10, found('a.example.test')), counted]).resolve({ subject, deadlineMs: 5000, log });
    assert.equal(guessCalls, 1, 'the fallback is not run when a source found settings');
    assert.equal(some.sources.find((entry) => entry.name === 'guess')?.outcome, 'skipped');
  });

  it('never starts network sources when a local source answers better than any of them could', async () => {
    const network = controlled('network', 10);
    const local: Source = { ...immediate('provider-db', 0, found('db.example.test')), local: true };
    const discovery = await new Discoverer([network, local]).resolve({ subject, deadlineMs: 5000, log });
    assert.equal(network.calls, 0, 'no outbound work for a domain the database knows');
    assert.equal(discovery.incoming[0]?.host, 'db.example.test');
    assert.equal(discovery.sources.find((entry) => entry.name === 'network')?.outcome, 'skipped');
  });

  it('starts network sources once local sources found nothing', async () => {
    const network = immediate('network', 10, found('net.example.test'));
    const local: Source = { ...immediate('provider-db', 0, { outcome: 'not-found' }), local: true };
    const discovery = await new Discoverer([network, local]).resolve({ subject, deadlineMs: 5000, log });
    assert.equal(discovery.incoming[0]?.host, 'net.example.test');
  });

  it('turns a throwing source into an error value', async () => {
    const broken: Source = { name: 'broken', priority: 10, lookup: async () => { throw new Error('bug'); } };
    const discovery = await new Discoverer([broken, immediate('ok', 20, found('ok.example.test'))]).resolve({ subject, deadlineMs: 5000, log });
    assert.equal(discovery.sources[0]?.outcome, 'error');
    assert.equal(discovery.sources[0]?.error, 'internal_error');
    assert.equal(discovery.found, true);
  });

  it('takes the smallest TTL of the contributing sources', async () => {
    const discovery = await new Discoverer([
      immediate('a', 10, { ...found('a.example.test'), ttlS: 600 } as SourceResult),
      immediate('b', 5, { ...found('b.example.test'), ttlS: 120 } as SourceResult),
    ]).resolve({ subject, deadlineMs: 5000, log });
    assert.equal(discovery.ttlS, 120);
  });

  it('refuses a discovery beyond maxConcurrent with ApiError busy, and frees the slot afterwards', async () => {
    const hold = controlled('hold', 10);
    const resolver = new Discoverer([hold], { maxConcurrent: 1 });
    const first = resolver.resolve({ subject, deadlineMs: 5000, log });
    await tick();
    assert.equal(resolver.running, 1);
    await assert.rejects(resolver.resolve({ subject, deadlineMs: 5000, log }), (error: unknown) => error instanceof ApiError && error.code === 'busy');
    hold.resolveWith({ outcome: 'not-found' });
    await first;
    assert.equal(resolver.running, 0);
    // The same resolver takes a discovery again.
    const again = resolver.resolve({ subject, deadlineMs: 5000, log });
    await tick();
    assert.equal(resolver.running, 1);
    hold.resolveWith({ outcome: 'not-found' });
    assert.equal((await again).found, false);
    assert.equal(hold.calls, 2);
  });
});

describe('rankServers (merge)', () => {
  it('orders IMAP before POP3, plaintext after every encrypted server, then by source rank, then tls > starttls', () => {
    const ranked = rankServers([
      { server: server('pop.x.test', { protocol: 'pop3', port: 995 }), priority: 10 },
      { server: server('plain.x.test', { port: 143, security: 'none' }), priority: 10 },
      { server: server('srv.x.test', { port: 993 }), priority: 30 },
      { server: server('start.x.test', { port: 143, security: 'starttls' }), priority: 10 },
      { server: server('tls.x.test'), priority: 10 },
      { server: server('smtp.x.test', { protocol: 'smtp', port: 465 }), priority: 10 },
    ]);
    assert.deepEqual(ranked.incoming.map((entry) => entry.host), ['tls.x.test', 'start.x.test', 'srv.x.test', 'plain.x.test', 'pop.x.test']);
    assert.deepEqual(ranked.outgoing.map((entry) => entry.host), ['smtp.x.test']);
  });

  it('deduplicates a server found twice, keeping the better source and trusting it if any trusted source saw it', () => {
    const ranked = rankServers([
      { server: server('imap.x.test', { source: 'autoconfig:http://autoconfig.x.test/', trusted: false }), priority: 50 },
      { server: server('imap.x.test', { source: 'srv:_imaps._tcp.x.test' }), priority: 30 },
    ]);
    assert.equal(ranked.incoming.length, 1);
    assert.equal(ranked.incoming[0]?.trusted, true);
    assert.equal(ranked.incoming[0]?.source, 'srv:_imaps._tcp.x.test');
  });
});

describe('Discoverer: no half-answers', () => {
  const smtp = (host: string, overrides: Partial<CandidateServer> = {}) => server(host, { protocol: 'smtp', port: 465, ...overrides });

  it('a document with only outgoing servers is partial: lower-ranked sources still run, its SMTP ranks after theirs', async () => {
    const autoconfig = immediate('autoconfig', 10, { outcome: 'partial', servers: [smtp('smtp.own.test')], detail: 'only SMTP' });
    const srv = controlled('srv', 30);
    const resolver = new Discoverer([autoconfig, srv]);
    const pending = resolver.resolve({ subject, deadlineMs: 5000, log });
    await tick();
    assert.equal(srv.aborted, false, 'a partial answer must not end the search');
    srv.resolveWith({ outcome: 'found', servers: [server('imap.srv.test'), smtp('smtp.srv.test', { port: 587, security: 'starttls' })] });
    const discovery = await pending;
    assert.equal(discovery.found, true);
    assert.deepEqual(discovery.incoming.map((entry) => entry.host), ['imap.srv.test']);
    assert.deepEqual(discovery.outgoing.map((entry) => entry.host), ['smtp.srv.test', 'smtp.own.test']);
    assert.deepEqual(discovery.sources.map((report) => [report.name, report.outcome]), [['autoconfig', 'partial'], ['srv', 'found']]);
  });

  it('only outgoing servers from every source is not found (no 200 without an incoming server), and guessing runs', async () => {
    const guess = controlled('guess', 100, { fallback: true });
    const resolver = new Discoverer([immediate('autoconfig', 10, { outcome: 'partial', servers: [smtp('smtp.own.test')] }), guess]);
    const pending = resolver.resolve({ subject, deadlineMs: 5000, log });
    await tick();
    assert.equal(guess.calls, 1);
    guess.resolveWith({ outcome: 'not-found' });
    const discovery = await pending;
    assert.equal(discovery.found, false);
    assert.deepEqual(discovery.outgoing.map((entry) => entry.host), ['smtp.own.test']);
  });

  it('drops every server whose port and security contradict RFC 8314, from any source, and says so in its report', async () => {
    const bad: CandidateServer[] = [
      server('starttls-on-993.test', { port: 993, security: 'starttls' }),
      server('plain-on-995.test', { protocol: 'pop3', port: 995, security: 'none' }),
      smtp('starttls-on-465.test', { security: 'starttls' }),
      server('tls-on-143.test', { port: 143, security: 'tls' }),
      server('tls-on-110.test', { protocol: 'pop3', port: 110, security: 'tls' }),
      smtp('tls-on-587.test', { port: 587, security: 'tls' }),
    ];
    const good: CandidateServer[] = [
      server('imaps.test'),
      server('imap.test', { port: 143, security: 'starttls' }),
      smtp('submission.test', { port: 587, security: 'starttls' }),
      server('other-port.test', { port: 10993, security: 'tls' }),
    ];
    const discovery = await new Discoverer([immediate('doc', 10, { outcome: 'found', servers: [...bad, ...good], detail: 'ten servers' })]).resolve({
      subject,
      deadlineMs: 5000,
      log,
    });
    const hosts = [...discovery.incoming, ...discovery.outgoing].map((entry) => entry.host).sort();
    assert.deepEqual(hosts, good.map((entry) => entry.host).sort());
    const detail = discovery.sources[0]?.detail ?? '';
    for (const entry of bad) assert.match(detail, new RegExp(`${entry.host}:${entry.port} dropped`));
  });

  it('a found answer whose servers all break the invariant counts as nothing: guessing runs', async () => {
    const guess = immediate('guess', 100, { outcome: 'found', servers: [server('imap.guessed.test')] });
    const discovery = await new Discoverer([
      immediate('doc', 10, { outcome: 'found', servers: [server('x.test', { port: 993, security: 'starttls' })] }),
      { ...guess, fallback: true },
    ]).resolve({ subject, deadlineMs: 5000, log });
    assert.deepEqual(discovery.incoming.map((entry) => entry.host), ['imap.guessed.test']);
  });
});

describe('Discoverer: companion sources (alternatives only)', () => {
  const jmap = { kind: 'jmap' as const, url: 'https://jmap.example.test/session', source: 'jmap:https://example.test/.well-known/jmap', trusted: true };
  const companion = () => controlled('jmap', 60, { companion: true });

  it('merges the alternatives of a companion that answers within the grace, whatever the ranked outcome', async (t) => {
    mockClock(t);
    const late = companion();
    const pending = new Discoverer([immediate('autoconfig', 10, found('imap.example.test')), late], { companionGraceMs: 500 }).resolve({ subject, deadlineMs: 5000, log });
    // The answer is decided; the companion answers inside its grace (the clock has not moved).
    await tick();
    late.resolveWith({ outcome: 'not-found', alternatives: [jmap] });
    const discovery = await pending;
    assert.deepEqual(discovery.alternatives, [jmap]);
    assert.equal(discovery.sources.find((report) => report.name === 'jmap')?.outcome, 'not-found');
  });

  it('never holds the answer back by more than the grace: a slow companion is aborted and reported skipped', async (t) => {
    mockClock(t);
    const slow = companion();
    const pending = tracked(new Discoverer([immediate('autoconfig', 10, found('imap.example.test')), slow], { companionGraceMs: 50 }).resolve({ subject, deadlineMs: 5000, log }));
    await tick();
    t.mock.timers.tick(49);
    await tick();
    assert.equal(pending.settled(), false, 'the companion has its grace');
    t.mock.timers.tick(1);
    const discovery = await pending.promise;
    assert.equal(slow.aborted, true);
    assert.deepEqual(discovery.alternatives, []);
    assert.equal(discovery.found, true);
    assert.match(discovery.sources.find((report) => report.name === 'jmap')?.detail ?? '', /no answer within 50 ms/);
  });

  it('waits for a companion past the grace when no ranked source found anything (its alternatives are the whole answer)', async (t) => {
    mockClock(t);
    const slowish = companion();
    const pending = tracked(new Discoverer([immediate('autoconfig', 10, { outcome: 'not-found' }), slowish], { companionGraceMs: 20 }).resolve({ subject, deadlineMs: 5000, log }));
    await tick();
    t.mock.timers.tick(150);
    await tick();
    assert.equal(pending.settled(), false, 'still waiting for the companion 150 ms in, past the 20 ms grace');
    slowish.resolveWith({ outcome: 'not-found', alternatives: [jmap] });
    const discovery = await pending.promise;
    assert.deepEqual(discovery.alternatives, [jmap]);
    assert.equal(discovery.found, false);
  });

  it('does not wait for a companion that never started because the provider database answered from memory', async (t) => {
    mockClock(t);
    const never = companion();
    const local: Source = { name: 'provider-db', priority: 0, local: true, lookup: async () => found('imap.db.test') };
    // With the clock stopped, an answer that waited for the 2 s grace would never come.
    const pending = tracked(new Discoverer([local, never], { companionGraceMs: 2000 }).resolve({ subject, deadlineMs: 5000, log }));
    await tick();
    assert.equal(pending.settled(), true, 'answered without waiting for any grace');
    const discovery = await pending.promise;
    assert.equal(never.calls, 0, 'the companion was never started');
    assert.equal(discovery.sources.find((report) => report.name === 'jmap')?.outcome, 'skipped');
  });
});

describe('Discoverer: deferred sources (a head start for the better-ranked ones)', () => {
  const deferred = (name: string, priority: number, deferMs: number) => Object.assign(controlled(name, priority), { deferMs });

  it('never starts a deferred source when a better-ranked source answers within its head start', async () => {
    const later = deferred('pacc', 13, 10_000);
    const discovery = await new Discoverer([immediate('autoconfig', 10, found('imap.example.test')), later]).resolve({ subject, deadlineMs: 5000, log });
    assert.equal(later.calls, 0);
    assert.equal(discovery.sources.find((report) => report.name === 'pacc')?.outcome, 'skipped');
    assert.match(discovery.sources.find((report) => report.name === 'pacc')?.detail ?? '', /not started: a better-ranked source answered within its 10000 ms head start/);
  });

  it('starts deferred sources side by side as soon as the undeferred better-ranked ones ended without an answer', async () => {
    const autoconfig = controlled('autoconfig', 10);
    const pacc = deferred('pacc', 13, 10_000);
    const autodiscover = deferred('autodiscover', 15, 10_000);
    const pending = new Discoverer([autoconfig, pacc, autodiscover]).resolve({ subject, deadlineMs: 5000, log });
    await tick();
    assert.deepEqual([pacc.calls, autodiscover.calls], [0, 0]);
    autoconfig.resolveWith({ outcome: 'not-found' });
    await tick();
    assert.deepEqual([pacc.calls, autodiscover.calls], [1, 1], 'both start at once, the second does not wait for the first');
    autodiscover.resolveWith(found('imap.ad.test'));
    pacc.resolveWith({ outcome: 'not-found' });
    assert.deepEqual((await pending).incoming.map((entry) => entry.host), ['imap.ad.test']);
  });

  it('starts a deferred source when its head start runs out while a better-ranked source is still pending', async (t) => {
    mockClock(t);
    const autoconfig = controlled('autoconfig', 10);
    const pacc = deferred('pacc', 13, 20);
    const pending = new Discoverer([autoconfig, pacc]).resolve({ subject, deadlineMs: 5000, log });
    await tick();
    t.mock.timers.tick(19);
    assert.equal(pacc.calls, 0, 'not before its head start has run out');
    t.mock.timers.tick(1);
    assert.equal(pacc.calls, 1);
    pacc.resolveWith(found('imap.pacc.test'));
    autoconfig.resolveWith({ outcome: 'not-found' });
    assert.deepEqual((await pending).incoming.map((entry) => entry.host), ['imap.pacc.test']);
  });
});

describe('Discoverer: instructions of the best-ranked document that has any', () => {
  const instruction = (text: string, source: string) => ({ kind: 'enable' as const, texts: [{ lang: 'en', text }], source });
  const withInstructions = (host: string, text: string): SourceResult => ({ outcome: 'found', servers: [server(host)], instructions: [instruction(text, `test:${host}`)] });

  const smtpOnly = (host: string): Extract<SourceResult, { servers: unknown }> => ({ outcome: 'partial', servers: [server(host, { protocol: 'smtp', port: 465 })] });

  it('skips an answering source without any for the next one that has them', async () => {
    const resolver = new Discoverer([immediate('best', 10, smtpOnly('smtp.best.example.test')), immediate('second', 20, withInstructions('second.example.test', 'Second says'))]);
    const discovery = await resolver.resolve({ subject, deadlineMs: 1000, log });
    assert.deepEqual(discovery.instructions, [instruction('Second says', 'test:second.example.test')]);
  });

  it('takes the best-ranked source\'s only, never mixing two documents (a partial answer\'s count too)', async () => {
    const best: SourceResult = { ...smtpOnly('smtp.best.example.test'), instructions: [instruction('Best says', 'test:best')] };
    const resolver = new Discoverer([immediate('best', 10, best), immediate('second', 20, withInstructions('second.example.test', 'Second says'))]);
    const discovery = await resolver.resolve({ subject, deadlineMs: 1000, log });
    assert.equal(discovery.incoming[0]?.host, 'second.example.test');
    assert.deepEqual(discovery.instructions, [instruction('Best says', 'test:best')]);
  });

  it('has none when no answering source has any', async () => {
    const discovery = await new Discoverer([immediate('only', 10, found('a.example.test'))]).resolve({ subject, deadlineMs: 1000, log });
    assert.deepEqual(discovery.instructions, []);
  });
});
