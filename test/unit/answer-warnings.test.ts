import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { LookupSubject } from '../../src/api/input.js';
import type { Provider } from '../../src/provider-db/schema.js';
import { Discoverer } from '../../src/resolver/discoverer.js';
import type { CandidateServer, Source, SourceContext, SourceResult } from '../../src/sources/types.js';

const subject: LookupSubject = { domain: 'example.test', email: null, localPart: null };
const log = { debug() {}, info() {}, warn() {}, error() {} };

function server(host: string, overrides: Partial<CandidateServer> = {}): CandidateServer {
  return { protocol: 'imap', host, port: 993, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: `test:${host}`, trusted: true, ...overrides };
}

/** A source that answers at once. */
const source = (name: string, priority: number, result: SourceResult, extra: Partial<Source> = {}): Source => ({
  name,
  priority,
  ...extra,
  lookup: async () => result,
});

/** A source that answers when the test says so (`answer()`), or `timeout` when its signal aborts first. */
function held(name: string, priority: number, result: SourceResult, extra: Partial<Source> = {}): Source & { answer(): void } {
  let answered = false;
  let resolveLookup: ((value: SourceResult) => void) | undefined;
  return {
    name,
    priority,
    ...extra,
    answer: () => {
      answered = true;
      resolveLookup?.(result);
    },
    lookup: (context: SourceContext) =>
      new Promise((resolve) => {
        if (answered) return resolve(result);
        resolveLookup = resolve;
        context.signal.addEventListener('abort', () => resolve({ outcome: 'timeout' }));
      }),
  };
}

const hosted: Provider = { id: 'hosted', name: 'Hosted Mail', domains: [], mxSuffixes: ['hosted.test'], incoming: [], outgoing: [], documentation: [], hints: [], lastVerified: '2026-11-30' };
/** The MX step at a hosted provider: a cross-checker that may answer up to 150 ms after the answer is decided. */
const mxAt = (host: string) => held('mx', 40, { outcome: 'found', provider: hosted, servers: [server(host, { source: 'mx:aspmx.hosted.test' })] }, { crossCheckMs: 150 });

describe('answer warnings', () => {
  it('sources_disagree: autoconfig names the old host while the MX (answering after it) is at a hosted provider; the answer is unchanged', async (t) => {
    // The cross-check time runs on a mocked clock: the MX answers inside it because the clock has not moved.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const mx = mxAt('imap.hosted.test');
    const pending = new Discoverer([
      source('autoconfig', 10, { outcome: 'found', servers: [server('mail.example.test', { source: 'autoconfig:https://autoconfig.example.test/' })] }),
      mx,
    ]).resolve({ subject, deadlineMs: 5000, log });
    // One event-loop turn: autoconfig's answer is in and has decided the answer; then the MX answers.
    await nextTurn();
    mx.answer();
    const discovery = await pending;
    assert.deepEqual(discovery.incoming.map((entry) => entry.host), ['mail.example.test'], 'the MX servers are not merged');
    const warning = discovery.warnings.find((entry) => entry.code === 'sources_disagree');
    assert.deepEqual(warning?.sources, ['autoconfig', 'mx']);
    assert.match(warning?.message ?? '', /mail\.example\.test.*Hosted Mail \(imap\.hosted\.test\)/);
    assert.match(discovery.sources.find((report) => report.name === 'mx')?.detail ?? '', /used only to cross-check/);
  });

  it('no sources_disagree when the published host is on the provider\'s site', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const mx = mxAt('imap.hosted.test');
    const pending = new Discoverer([source('autoconfig', 10, { outcome: 'found', servers: [server('imap.eu.hosted.test')] }), mx]).resolve({ subject, deadlineMs: 5000, log });
    await nextTurn();
    mx.answer();
    const same = await pending;
    assert.equal(same.sources.find((report) => report.name === 'mx')?.outcome, 'found', 'the MX answered and was compared');
    assert.deepEqual(same.warnings, []);
  });

  it('no sources_disagree when the MX answers after its cross-check time: the answer waits for it 150 ms at most', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const mx = mxAt('imap.hosted.test');
    let answered = false;
    const pending = new Discoverer([source('autoconfig', 10, { outcome: 'found', servers: [server('mail.example.test')] }), mx])
      .resolve({ subject, deadlineMs: 5000, log })
      .then((discovery) => ((answered = true), discovery));
    await nextTurn();
    t.mock.timers.tick(149);
    await nextTurn();
    assert.equal(answered, false, 'the answer waits for the MX during its cross-check time');
    t.mock.timers.tick(1);
    const late = await pending;
    assert.deepEqual(late.warnings, []);
    assert.equal(late.sources.find((report) => report.name === 'mx')?.outcome, 'skipped');
  });

  it('untrusted_only, plaintext_only_protocol and guessed', async () => {
    const http = await new Discoverer([
      source('http-autoconfig', 50, {
        outcome: 'found',
        servers: [server('mail.example.test', { trusted: false, port: 143, security: 'none', source: 'autoconfig:http://x/' }), server('smtp.example.test', { protocol: 'smtp', port: 587, security: 'starttls', trusted: false, source: 'autoconfig:http://x/' })],
      }),
    ]).resolve({ subject, deadlineMs: 5000, log });
    assert.deepEqual(http.warnings.map((warning) => [warning.code, warning.sources]), [
      ['untrusted_only', ['http-autoconfig']],
      ['plaintext_only_protocol', ['http-autoconfig']],
    ]);
    assert.match(http.warnings[1]?.message ?? '', /^IMAP is offered only without encryption/);
    const guessed = await new Discoverer([
      source('srv', 30, { outcome: 'not-found' }),
      source('guess', 100, { outcome: 'found', servers: [server('imap.example.test')] }, { fallback: true }),
    ]).resolve({ subject, deadlineMs: 5000, log });
    assert.deepEqual(guessed.warnings.map((warning) => warning.code), ['guessed']);
  });

  it('says nothing about a plain, published, encrypted answer', async () => {
    const discovery = await new Discoverer([source('autoconfig', 10, { outcome: 'found', servers: [server('imap.example.test')] })]).resolve({ subject, deadlineMs: 5000, log });
    assert.deepEqual(discovery.warnings, []);
  });
});
