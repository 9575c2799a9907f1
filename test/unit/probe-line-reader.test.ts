import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { LineReader } from '../../src/probes/line-reader.js';

const options = { maxLineBytes: 16, maxTotalBytes: 64, stepTimeoutMs: 200 };

describe('LineReader', () => {
  it('reads CRLF and bare LF lines, split across chunks', async () => {
    const stream = new PassThrough();
    const reader = new LineReader(stream, options);
    stream.write('* OK hel');
    stream.write('lo\r\nsecond\nthi');
    stream.write('rd\r\n');
    assert.deepEqual(await reader.readLine(), { ok: true, line: '* OK hello' });
    assert.deepEqual(await reader.readLine(), { ok: true, line: 'second' });
    assert.deepEqual(await reader.readLine(), { ok: true, line: 'third' });
  });

  it('accepts a line of exactly the cap and refuses one byte more', async () => {
    const stream = new PassThrough();
    const reader = new LineReader(stream, options);
    stream.write(`${'a'.repeat(14)}\r\n${'b'.repeat(15)}\r\n`);
    assert.deepEqual(await reader.readLine(), { ok: true, line: 'a'.repeat(14) });
    const long = await reader.readLine();
    assert.equal(long.ok, false);
    assert.equal(!long.ok && long.reason, 'too_long');
  });

  it('cuts off an unterminated line as soon as it passes the cap, and destroys the stream', async () => {
    const stream = new PassThrough();
    const reader = new LineReader(stream, options);
    stream.write('x'.repeat(17));
    const result = await reader.readLine();
    assert.equal(!result.ok && result.reason, 'too_long');
    assert.equal(stream.destroyed, true);
  });

  it('cuts off a peer that sends more than the total cap in short lines', async () => {
    const stream = new PassThrough();
    const reader = new LineReader(stream, options);
    for (let i = 0; i < 20; i += 1) stream.write('line\r\n');
    const reasons: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      const result = await reader.readLine();
      if (!result.ok) {
        reasons.push(result.reason);
        break;
      }
    }
    assert.deepEqual(reasons, ['too_long']);
    assert.ok(reader.received <= 64 + 6);
  });

  it('gives up after the step timeout when nothing (or no full line) arrives', async () => {
    const stream = new PassThrough();
    const reader = new LineReader(stream, options);
    stream.write('partial');
    const started = performance.now();
    const result = await reader.readLine();
    assert.equal(!result.ok && result.reason, 'timeout');
    assert.ok(performance.now() - started < 500);
  });

  it('reports a closed stream, and an aborted signal', async () => {
    const closed = new PassThrough();
    const reader = new LineReader(closed, options);
    closed.end();
    closed.resume();
    assert.equal((await reader.readLine()).ok, false);

    const controller = new AbortController();
    const aborted = new LineReader(new PassThrough(), { ...options, stepTimeoutMs: 5_000, signal: controller.signal });
    // Aborted while the read waits (its step timeout is far off).
    const reading = aborted.readLine();
    controller.abort();
    const result = await reading;
    assert.equal(!result.ok && result.reason, 'aborted');
  });

  it('detach hands back unread bytes and stops reading', async () => {
    const stream = new PassThrough();
    const reader = new LineReader(stream, options);
    stream.write('+OK go\r\ninjected\r\n');
    assert.deepEqual(await reader.readLine(), { ok: true, line: '+OK go' });
    assert.equal(reader.detach().toString(), 'injected\r\n');
    stream.write('later\r\n');
    assert.equal((await reader.readLine()).ok, false);
  });
});
