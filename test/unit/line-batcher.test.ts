import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { LineBatcher, LOG_BATCH_INTERVAL_MS, LOG_BATCH_MAX_BYTES, type BatchTarget } from '../../src/logging/log.js';

/** A target that records what reaches it and in which order. */
function recordingTarget(): BatchTarget & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    write: (bytes: Buffer) => events.push(`write:${bytes.toString('utf8')}`),
    flush: (callback?: (error?: Error) => void) => {
      events.push('flush');
      callback?.();
    },
    flushSync: () => events.push('flushSync'),
  };
}

describe('LineBatcher (log lines batched for up to LOG_BATCH_INTERVAL_MS)', () => {
  it('passes the lines of one interval on as one write, in order, and nothing when idle', (t: TestContext) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const target = recordingTarget();
    const batcher = new LineBatcher(target, -1);
    batcher.write('a\n');
    batcher.write('b\n');
    t.mock.timers.tick(LOG_BATCH_INTERVAL_MS - 1);
    batcher.write('c\n');
    assert.deepEqual(target.events, [], 'nothing is written within the interval');
    t.mock.timers.tick(1);
    assert.deepEqual(target.events, ['write:a\nb\nc\n']);
    batcher.write('dé\n');
    t.mock.timers.tick(LOG_BATCH_INTERVAL_MS * 3);
    assert.deepEqual(target.events, ['write:a\nb\nc\n', 'write:dé\n'], 'one write per interval that had lines, UTF-8 encoded');
  });

  it('passes a full batch on at once, and a line longer than a batch by itself', (t: TestContext) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const target = recordingTarget();
    const batcher = new LineBatcher(target, -1);
    const line = `${'x'.repeat(1023)}\n`;
    for (let index = 0; index < LOG_BATCH_MAX_BYTES / 1024; index += 1) batcher.write(line);
    assert.equal(target.events.length, 0, 'a full batch has room for nothing more, but nothing forces it out yet');
    batcher.write('y\n');
    assert.equal(target.events.length, 1, 'the full batch goes on, without waiting for the interval, when the next line does not fit');
    assert.equal(target.events[0]!.length, 'write:'.length + LOG_BATCH_MAX_BYTES);
    t.mock.timers.tick(LOG_BATCH_INTERVAL_MS);
    assert.deepEqual(target.events.slice(1), ['write:y\n'], 'the line that did not fit follows with the next batch');
    const long = `${'z'.repeat(LOG_BATCH_MAX_BYTES)}\n`;
    batcher.write(long);
    assert.equal(target.events.at(-1), `write:${long}`, 'a line longer than a batch goes on by itself');
  });

  it('flush passes pending lines on before asking the target to flush', (t: TestContext) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const target = recordingTarget();
    const batcher = new LineBatcher(target, -1);
    batcher.write('x\n');
    let flushed = false;
    batcher.flush(() => {
      flushed = true;
    });
    assert.deepEqual(target.events, ['write:x\n', 'flush']);
    assert.ok(flushed);
    t.mock.timers.tick(LOG_BATCH_INTERVAL_MS);
    assert.equal(target.events.length, 2, 'the timer finds nothing left');
  });

  it('flushSync writes the target out first, then the pending lines straight to the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailsettings-log-'));
    const path = join(dir, 'out.log');
    const fd = openSync(path, 'a');
    try {
      const target = recordingTarget();
      const batcher = new LineBatcher(target, fd);
      batcher.write('{"msg":"one"}\n');
      batcher.write('{"msg":"two"}\n');
      batcher.flushSync();
      assert.deepEqual(target.events, ['flushSync'], 'no asynchronous write is started at exit');
      assert.equal(readFileSync(path, 'utf8'), '{"msg":"one"}\n{"msg":"two"}\n');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
