import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { plan, shuffled, testFiles } from '../../scripts/test-each.js';

// The rules of issue 14 ("tests that can fail for the right reason") that a reading of the test
// sources can check, so that a new sleep, cast or process spawner fails here with its file and
// line. Whether every file passes alone and in any order is shown by `npm run test:each`.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every .ts file under test/, as repository-relative paths. */
function sources(dir = join(ROOT, 'test')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [relative(ROOT, path)] : [];
  });
}

/** Lines of the test sources matching `pattern`, as "file:line: text". */
function matches(pattern: RegExp, files = sources()): string[] {
  return files.flatMap((file) =>
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .flatMap((line, index) => (pattern.test(line) ? [`${file}:${index + 1}: ${line.trim()}`] : [])),
  );
}

/** A regular expression that matches `text` literally (so this file does not match its own patterns). */
const literal = (...parts: string[]) => new RegExp(parts.join('').replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

/**
 * The only real-time timers left in tests, each inherent to what is tested or a guard that can
 * only fail a test (never an ordering or a "nothing happened" wait). Keyed by file: the number of
 * timer calls allowed there, and why.
 */
const INHERENT_TIMERS: Record<string, { count: number; why: string }> = {
  'test/helpers/child-output.ts': { count: 1, why: 'a start-up guard: a child that never prints its ready line fails the test instead of hanging it' },
  'test/helpers/dovecot.ts': { count: 1, why: 'a guard on the one greeting awaited per address after Dovecot logged its start' },
  'test/integration/connection-limits.test.ts': { count: 1, why: 'the slowloris itself: a header line every 50 ms, against HEADERS_TIMEOUT_MS' },
  'test/integration/http-client.test.ts': { count: 1, why: 'the slow-drip server under test: a byte every 100 ms, against the total timeout' },
  'test/integration/discovery.test.ts': { count: 1, why: 'a guard: a request that hangs because a marker leaked fails with that message' },
  'test/helpers/redis.ts': { count: 1, why: 'a guard on one Redis command (a reply normally comes at once)' },
  'test/e2e/fleet-redis.test.ts': { count: 2, why: 'the outage under test: Redis stops 1.5 s into a 7 s load and stays down 3 s, each second checked for answers' },
  'test/integration/redis-store.test.ts': {
    count: 1,
    why: "Redis gives no notice when another connection has subscribed: PUBSUB NUMSUB is asked again after a short pause (the store exposes no 'subscribed' event)",
  },
};

describe('test hygiene', () => {
  it('no test double is cast with "as unknown as" (doubles subclass or implement what they stand for)', () => {
    assert.deepEqual(matches(literal('as unknown', ' as ')), []);
  });

  it('no sleeps: real-time timers only where the timer is what is tested, or a guard', () => {
    const found = matches(/\b(setTimeout|setInterval)\s*\(|\bdelay\s*\(|\bsleep\s*\(|timers\/promises['"].*setTimeout/);
    const byFile = new Map<string, string[]>();
    for (const hit of found) {
      const file = hit.slice(0, hit.indexOf(':'));
      byFile.set(file, [...(byFile.get(file) ?? []), hit]);
    }
    const unexpected = [...byFile].flatMap(([file, hits]) => (hits.length > (INHERENT_TIMERS[file]?.count ?? 0) ? hits : []));
    assert.deepEqual(unexpected, [], 'order by awaited events, or move time with t.mock.timers');
  });

  it('one spawner of the service process: test/helpers/service-process.ts', () => {
    const spawners = sources().filter((file) => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      return /\b(spawn|fork|execFile|execFileSync)\s*\(/.test(text) && /(src\/server\.ts|dist\/server\.js)['"]/.test(text);
    });
    assert.deepEqual(spawners, ['test/helpers/service-process.ts']);
  });

  it('unit tests open no sockets and build no app: those tests live in test/routes or test/integration', () => {
    const unit = sources().filter((file) => file.startsWith('test/unit/') && file !== 'test/unit/test-hygiene.test.ts');
    assert.deepEqual(matches(/\b(buildTestApp|buildApp|startBrowserApp)\s*\(|\.inject\s*\(|\.listen\s*\(|net\.connect\s*\(|new TestDnsServer\b|start(Https?|Silent|Dnsmasq|Dovecot\w*|Redis|Replica)\s*\(/, unit), []);
  });
});

describe('scripts/test-each.ts', () => {
  const all = ['test/e2e/a.test.ts', 'test/routes/b.test.ts', 'test/unit/c.test.ts', 'test/unit/d.test.ts'];

  it('runs every test file under test/, each once', () => {
    const files = testFiles();
    assert.equal(new Set(files).size, files.length);
    assert.ok(files.includes('test/unit/test-hygiene.test.ts'), 'this file is among them');
    assert.ok(files.every((file) => file.startsWith('test/') && file.endsWith('.test.ts')));
  });

  it('plans the sorted order, the reverse, a replayable shuffle, or the files naming a word', () => {
    assert.deepEqual(plan([], all), all);
    assert.deepEqual(plan(['--reverse'], all), [...all].reverse());
    const once = plan(['--shuffle=42'], all);
    assert.deepEqual(once, plan(['--shuffle=42'], all), 'the same seed, the same order');
    assert.deepEqual([...once].sort(), all, 'every file, once');
    assert.notDeepEqual(shuffled(all, 1), shuffled(all, 2));
    assert.deepEqual(plan(['unit/'], all), ['test/unit/c.test.ts', 'test/unit/d.test.ts']);
    assert.throws(() => plan(['--shuffle=soon'], all), /whole number/);
  });
});
