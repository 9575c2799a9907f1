import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LineBatcher, type BatchTarget } from '../../src/logging/log.js';

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

describe('LineBatcher (log lines batched per event-loop turn)', () => {
  it('passes the lines of one turn on as one write, in order, and nothing when idle', async () => {
    const target = recordingTarget();
    const batcher = new LineBatcher(target, -1);
    batcher.write('a\n');
    batcher.write('b\n');
    batcher.write('c\n');
    assert.deepEqual(target.events, [], 'nothing is written within the turn');
    await nextTurn();
    assert.deepEqual(target.events, ['write:a\nb\nc\n']);
    batcher.write('dé\n');
    await nextTurn();
    await nextTurn();
    assert.deepEqual(target.events, ['write:a\nb\nc\n', 'write:dé\n'], 'one write per turn that had lines, UTF-8 encoded');
  });

  it('flush passes pending lines on before asking the target to flush', async () => {
    const target = recordingTarget();
    const batcher = new LineBatcher(target, -1);
    batcher.write('x\n');
    let flushed = false;
    batcher.flush(() => {
      flushed = true;
    });
    assert.deepEqual(target.events, ['write:x\n', 'flush']);
    assert.ok(flushed);
    await nextTurn();
    assert.equal(target.events.length, 2, 'the scheduled drain finds nothing left');
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
