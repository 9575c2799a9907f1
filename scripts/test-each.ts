// Runs every test file alone, one after another, each in its own `node --import tsx --test`
// process: proof that no file depends on another having run first (in the same process or the
// same machine state). The whole suite takes a few minutes; this takes a little longer.
//
//   npm run test:each                      every test/**/*.test.ts, sorted
//   npm run test:each -- --reverse         the same files, last first
//   npm run test:each -- --shuffle=42      in an order drawn from the seed 42
//   npm run test:each -- unit/ routes/     only files whose path contains one of the words
//
// Prints one line per file (status, time) and a summary; exits 1 if any file failed, and prints
// the failing files' output.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** One file's run. */
interface FileRun {
  file: string;
  ok: boolean;
  ms: number;
  output: string;
}

/** Every *.test.ts under dir, as paths relative to the repository root, sorted. */
export function testFiles(dir = join(ROOT, 'test')): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...testFiles(path));
    else if (entry.name.endsWith('.test.ts')) found.push(relative(ROOT, path));
  }
  return found.sort();
}

/** A deterministic shuffle (mulberry32 from the seed, Fisher-Yates), so an order can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

/** Runs one file alone; resolves when its process has exited. */
function runAlone(file: string): Promise<FileRun> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve({ file, ok: code === 0, ms: performance.now() - started, output }));
  });
}

/** The files to run and their order, from the command line. */
export function plan(args: readonly string[], all: readonly string[] = testFiles()): string[] {
  const words = args.filter((arg) => !arg.startsWith('--'));
  const chosen = words.length > 0 ? all.filter((file) => words.some((word) => file.includes(word))) : [...all];
  const seed = args.find((arg) => arg.startsWith('--shuffle='))?.slice('--shuffle='.length);
  if (seed !== undefined) {
    if (!/^\d+$/.test(seed)) throw new Error(`--shuffle needs a whole number seed, not ${JSON.stringify(seed)}`);
    return shuffled(chosen, Number(seed));
  }
  return args.includes('--reverse') ? chosen.reverse() : chosen;
}

async function main(): Promise<void> {
  const files = plan(process.argv.slice(2));
  if (files.length === 0) throw new Error('no test file matches');
  const runs: FileRun[] = [];
  const started = performance.now();
  for (const file of files) {
    const run = await runAlone(file);
    runs.push(run);
    console.log(`${run.ok ? 'ok  ' : 'FAIL'} ${(run.ms / 1000).toFixed(1).padStart(6)} s  ${file}`);
  }
  const failed = runs.filter((run) => !run.ok);
  for (const run of failed) console.log(`\n--- ${run.file}\n${run.output}`);
  console.log(`\n${runs.length} files, ${runs.length - failed.length} passed alone, ${failed.length} failed; ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (failed.length > 0) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
