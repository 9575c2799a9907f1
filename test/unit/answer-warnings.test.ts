import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LookupSubject } from '../../src/api/input.js';
import type { Provider } from '../../src/provider-db/schema.js';
import { Resolver } from '../../src/resolver/resolver.js';
import type { CandidateServer, Source, SourceContext, SourceResult } from '../../src/sources/types.js';

const subject: LookupSubject = { domain: 'example.test', email: null, localPart: null };
const log = { debug() {}, info() {}, warn() {}, error() {} };

function server(host: string, overrides: Partial<CandidateServer> = {}): CandidateServer {
  return { protocol: 'imap', host, port: 993, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext'], source: `test:${host}`, trusted: true, ...overrides };
}

const source = (name: string, priority: number, result: SourceResult, extra: Partial<Source> & { delayMs?: number } = {}): Source => ({
  name,
  priority,
  ...extra,
  lookup: (context: SourceContext) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(result), extra.delayMs ?? 0);
      context.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve({ outcome: 'timeout' });
      });
    }),
});

const hosted = { id: 'hosted', name: 'Hosted Mail', domains: [], mxSuffixes: ['hosted.test'], incoming: [], outgoing: [], documentation: [], hints: [], lastVerified: '2026-11-30' } as unknown as Provider;
const mxAt = (host: string, delayMs = 0) =>
  source('mx', 40, { outcome: 'found', provider: hosted, servers: [server(host, { source: 'mx:aspmx.hosted.test' })] }, { crossCheckMs: 150, delayMs });

describe('answer warnings', () => {
  it('sources_disagree: autoconfig names the old host while the MX (answering after it) is at a hosted provider; the answer is unchanged', async () => {
    const discovery = await new Resolver([
      source('autoconfig', 10, { outcome: 'found', servers: [server('mail.example.test', { source: 'autoconfig:https://autoconfig.example.test/' })] }),
      mxAt('imap.hosted.test', 20),
    ]).resolve({ subject, deadlineMs: 5000, log });
    assert.deepEqual(discovery.incoming.map((entry) => entry.host), ['mail.example.test'], 'the MX servers are not merged');
    const warning = discovery.warnings.find((entry) => entry.code === 'sources_disagree');
    assert.deepEqual(warning?.sources, ['autoconfig', 'mx']);
    assert.match(warning?.message ?? '', /mail\.example\.test.*Hosted Mail \(imap\.hosted\.test\)/);
    assert.match(discovery.sources.find((report) => report.name === 'mx')?.detail ?? '', /used only to cross-check/);
  });

  it('no sources_disagree when the published host is on the provider\'s site, or when the MX answers after its cross-check time', async () => {
    const same = await new Resolver([
      source('autoconfig', 10, { outcome: 'found', servers: [server('imap.eu.hosted.test')] }),
      mxAt('imap.hosted.test'),
    ]).resolve({ subject, deadlineMs: 5000, log });
    assert.deepEqual(same.warnings, []);
    const started = performance.now();
    const late = await new Resolver([
      source('autoconfig', 10, { outcome: 'found', servers: [server('mail.example.test')] }),
      mxAt('imap.hosted.test', 2000),
    ]).resolve({ subject, deadlineMs: 5000, log });
    assert.ok(performance.now() - started < 1000, 'the answer waits at most the 150 ms cross-check time');
    assert.deepEqual(late.warnings, []);
    assert.equal(late.sources.find((report) => report.name === 'mx')?.outcome, 'skipped');
  });

  it('untrusted_only, plaintext_only_protocol and guessed', async () => {
    const http = await new Resolver([
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
    const guessed = await new Resolver([
      source('srv', 30, { outcome: 'not-found' }),
      source('guess', 100, { outcome: 'found', servers: [server('imap.example.test')] }, { fallback: true }),
    ]).resolve({ subject, deadlineMs: 5000, log });
    assert.deepEqual(guessed.warnings.map((warning) => warning.code), ['guessed']);
  });

  it('says nothing about a plain, published, encrypted answer', async () => {
    const discovery = await new Resolver([source('autoconfig', 10, { outcome: 'found', servers: [server('imap.example.test')] })]).resolve({ subject, deadlineMs: 5000, log });
    assert.deepEqual(discovery.warnings, []);
  });
});
