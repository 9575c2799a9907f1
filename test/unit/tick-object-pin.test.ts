import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pinTickObjectShape } from '../../src/tick-object-pin.js';

/** Runs a child to its end; rejects unless it exits with 0. */
async function run(command: string, args: string[], options: Parameters<typeof spawn>[2]): Promise<void> {
  const child = spawn(command, args, options);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  if (code !== 0) throw new Error(`child exited with ${code ?? signal}`);
}

const PIN_MODULE = new URL('../../src/tick-object-pin.ts', import.meta.url).href;

/**
 * A child Node that calls `process.nextTick` in batches with full collections in between, while no
 * tick entry is alive (3 collections, more than V8 keeps an unused map for), then prints the state of
 * the feedback slots of the entry literal's property definitions. PIN=1 calls pinTickObjectShape first.
 */
const CHILD = `
if (process.env.PIN === '1') (await import(process.env.PIN_MODULE)).pinTickObjectShape();
for (let round = 0; round < 8; round++) {
  for (let i = 0; i < 200; i++) process.nextTick(() => {});
  await new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 3; i++) globalThis.gc();
}
new Function('f', '%DebugPrint(f)')(process.nextTick);
`;

async function literalFeedbackStates(pin: boolean): Promise<string[]> {
  // Without NODE_TEST_CONTEXT, which the test runner sets: the child is a plain script, not a test file.
  const { NODE_TEST_CONTEXT: _testContext, ...env } = process.env;
  // %DebugPrint writes with C stdio, which a pipe to this process cuts short at exit: a file it is.
  const dir = await mkdtemp(join(tmpdir(), 'tick-pin-'));
  const path = join(dir, 'stdout');
  const file = await open(path, 'w');
  try {
    await run(
      process.execPath,
      ['--import', 'tsx', '--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', CHILD],
      { env: { ...env, PIN: pin ? '1' : '0', PIN_MODULE }, stdio: ['ignore', file.fd, 'inherit'] },
    );
    const stdout = await readFile(path, 'utf8');
    return [...stdout.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((match) => match[1]!);
  } finally {
    await file.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('pinTickObjectShape', () => {
  it('holds one of Node’s tick entries (two symbol keys, callback, args), the same one on every call', () => {
    const entry = pinTickObjectShape();
    assert.ok(entry, 'no TickObject came through the async_hooks init hook');
    assert.deepEqual(Object.keys(entry), ['callback', 'args']);
    assert.equal(Object.getOwnPropertySymbols(entry).length, 2);
    assert.equal(pinTickObjectShape(), entry);
  });

  it('keeps the tick literal’s feedback monomorphic through full collections that turn it megamorphic without it', async () => {
    const [without, pinned] = await Promise.all([literalFeedbackStates(false), literalFeedbackStates(true)]);
    // The control proves the child reproduces the problem on this Node; if a Node release fixes it,
    // this assertion fails and the pin (src/tick-object-pin.ts) can go.
    assert.equal(without.length, 4, `expected four literal slots, got ${JSON.stringify(without)}`);
    assert.ok(without.includes('MEGAMORPHIC'), `without the pin: ${without.join(' ')}`);
    assert.deepEqual(pinned, ['MONOMORPHIC', 'MONOMORPHIC', 'MONOMORPHIC', 'MONOMORPHIC']);
  });
});
