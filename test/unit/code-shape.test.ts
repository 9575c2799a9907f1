import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Longest function body allowed in src/, in lines (issue 14: a function a newcomer reads at once). */
const MAX_FUNCTION_LINES = 60;
/** Shortest repeated block reported, in non-blank lines. */
const MIN_REPEATED_LINES = 6;

/** Functions allowed to be longer, each with the README's reason (section "Code shape"). */
const LONG_FUNCTION_EXCEPTIONS = new Set<string>([]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Every function (declaration, method, arrow, expression) longer than `max` lines: `file:line name (n lines)`. */
export function longFunctions(name: string, text: string, max = MAX_FUNCTION_LINES): string[] {
  const file = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const end = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      const label = node.name && ts.isIdentifier(node.name) ? node.name.text : node.name ? node.name.getText(file) : '(anonymous)';
      if (lines > max) found.push(`${name}:${start + 1} ${label} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** Lines that say something (not blank, not a lone bracket, not a comment). */
function meaningful(text: string): { line: number; text: string }[] {
  return text
    .split('\n')
    .map((line, index) => ({ line: index + 1, text: line.trim() }))
    .filter(({ text: line }) => line.length > 0 && !/^[\])};,]+$/.test(line) && !line.startsWith('//') && !line.startsWith('*') && !line.startsWith('/*') && !line.startsWith('import '));
}

/** Blocks of `min` or more meaningful lines that occur in two places of the given files. */
export function repeatedBlocks(files: ReadonlyMap<string, string>, min = MIN_REPEATED_LINES): string[] {
  const seen = new Map<string, string>();
  const found = new Set<string>();
  for (const [name, text] of files) {
    const lines = meaningful(text);
    for (let index = 0; index + min <= lines.length; index += 1) {
      const key = lines.slice(index, index + min).map((entry) => entry.text).join('\n');
      const here = `${name}:${lines[index]!.line}`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, here);
      else if (!first.startsWith(`${name}:`) || Math.abs(Number(first.split(':')[1]) - lines[index]!.line) >= min) found.add(`${first} and ${here}`);
    }
  }
  return [...found];
}

describe('shape of the code in src/', () => {
  const files = new Map(sourceFiles(SRC).map((file) => [relative(SRC, file), readFileSync(file, 'utf8')]));

  it(`has no function over ${MAX_FUNCTION_LINES} lines except the ones the README explains`, () => {
    const long = [...files].flatMap(([name, text]) => longFunctions(name, text)).filter((entry) => !LONG_FUNCTION_EXCEPTIONS.has(entry.split(' ')[1] ?? ''));
    assert.deepEqual(long, []);
  });

  it(`has no block of ${MIN_REPEATED_LINES} or more lines repeated`, () => {
    assert.deepEqual(repeatedBlocks(files), []);
  });

  it('the checks see a long function and a repeated block', () => {
    const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, index) => `  const v${index} = ${index};`).join('\n');
    assert.deepEqual(longFunctions('x.ts', `function big() {\n${body}\n}\n`), [`x.ts:1 big (${MAX_FUNCTION_LINES + 2} lines)`]);
    const block = Array.from({ length: MIN_REPEATED_LINES }, (_, index) => `total += values[${index}] * weight;`).join('\n');
    assert.equal(repeatedBlocks(new Map([['a.ts', block], ['b.ts', `let x = 1;\n${block}`]])).length, 1);
  });
});
