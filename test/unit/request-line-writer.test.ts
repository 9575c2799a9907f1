import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino, { type LoggerOptions } from 'pino';
import { requestLineWriter, type CachedAnswerLine } from '../../src/plugins/request-log.js';

const LINE: CachedAnswerLine = { reqId: 'req-7', method: 'GET', route: '/v1/lookup', status: 200, ms: 1, domain: 'gmail.com', outcome: 'found', cached: true };

/** A pino logger writing into an array of raw lines, with a fixed clock so two writers' lines compare byte for byte. */
function capture(options: LoggerOptions = {}): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ level: 'info', timestamp: () => ',"time":42', ...options }, { write: (line: string) => void lines.push(line) });
  return { log, lines };
}

describe('the request-line writer of the lookup fast lane', () => {
  it('writes, for a plain pino logger, the bytes log.info writes', () => {
    const fast = capture();
    requestLineWriter(fast.log)(LINE);
    const slow = capture();
    slow.log.info(LINE, 'request');
    assert.equal(fast.lines.length, 1);
    assert.equal(fast.lines[0], slow.lines[0]);
  });

  it('escapes a value as pino does when it holds characters JSON escapes', () => {
    const odd: CachedAnswerLine = { ...LINE, reqId: 'req "7"\\', domain: 'bücher.de\n' };
    const fast = capture();
    requestLineWriter(fast.log)(odd);
    const slow = capture();
    slow.log.info(odd, 'request');
    assert.equal(fast.lines[0], slow.lines[0]);
    assert.equal((JSON.parse(fast.lines[0]!) as { domain: string }).domain, 'bücher.de\n');
  });

  it('writes each line with its own values when values repeat and change, one writer for all', () => {
    const lines: CachedAnswerLine[] = [
      LINE,
      LINE,
      { ...LINE, domain: 'bücher.de\n', route: '/v1/other', method: 'HEAD' },
      { ...LINE, domain: 'bücher.de\n', outcome: 'not-found' },
      LINE,
    ];
    const fast = capture();
    const write = requestLineWriter(fast.log);
    for (const line of lines) write(line);
    const slow = capture();
    for (const line of lines) slow.log.info(line, 'request');
    assert.equal(fast.lines.length, lines.length);
    assert.deepEqual(fast.lines, slow.lines);
  });

  it('follows the logger level as it changes', () => {
    const { log, lines } = capture();
    const write = requestLineWriter(log);
    log.level = 'warn';
    write(LINE);
    assert.equal(lines.length, 0);
    log.level = 'info';
    write(LINE);
    assert.equal(lines.length, 1);
  });

  const shaped: [string, LoggerOptions, (line: Record<string, unknown>) => void][] = [
    ['redaction', { redact: ['domain'] }, (line) => assert.equal(line.domain, '[Redacted]')],
    ['a mixin', { mixin: () => ({ zone: 'eu' }) }, (line) => assert.equal(line.zone, 'eu')],
    ['a log formatter', { formatters: { log: (object) => ({ ...object, formatted: true }) } }, (line) => assert.equal(line.formatted, true)],
    ['another message key', { messageKey: 'message' }, (line) => assert.equal(line.message, 'request')],
  ];
  for (const [what, options, check] of shaped) {
    it(`leaves a logger with ${what} to pino`, () => {
      const { log, lines } = capture(options);
      requestLineWriter(log)(LINE);
      assert.equal(lines.length, 1);
      const line = JSON.parse(lines[0]!) as Record<string, unknown>;
      check(line);
      assert.equal(line.reqId, 'req-7');
    });
  }
});
