import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/**
 * The layers of src/, top first: a module may import its own layer and the layers below it, never
 * one above. `config/` is parsed once at the top and passed down as options, so only the top
 * (server.ts, app.ts) imports it. api/ and logging/ are the bottom (wire types, error codes, log format).
 */
const LAYERS: readonly (readonly string[])[] = [
  ['(top)'],
  ['config'],
  ['routes'],
  ['plugins'],
  ['lookup'],
  ['serve'],
  ['resolver'],
  ['sources'],
  ['probes'],
  ['provider-db'],
  ['formats'],
  ['net'],
  ['cache', 'store'],
  ['api', 'logging'],
];

function layerOf(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes('/') ? rel.split('/')[0]! : '(top)';
}

function depth(layer: string): number {
  const index = LAYERS.findIndex((names) => names.includes(layer));
  assert.ok(index >= 0, `src/${layer}/ is in no layer: add it to LAYERS in this test (and to the README's layout)`);
  return index;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Relative imports and re-exports of a module (type-only ones too: they couple layers as much). */
function importsOf(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+'(\.{1,2}\/[^']+)'/g)].map((match) => match[1]!);
  return specifiers.map((specifier) => resolve(dirname(file), specifier));
}

/** Every import that points up the layers (or into config/ from below the top). */
function forbiddenImports(files: readonly string[], read = (file: string) => readFileSync(file, 'utf8')): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    for (const target of importsOf(file, read(file))) {
      const to = layerOf(target);
      const allowed = to === 'config' ? from === '(top)' || from === 'config' : depth(to) >= depth(from);
      if (!allowed) problems.push(`src/${relative(SRC, file)} (${from}) imports src/${relative(SRC, target)} (${to})`);
    }
  }
  return problems;
}

describe('layers of src/', () => {
  it('no module imports a layer above its own, and only the top reads config/', () => {
    assert.deepEqual(forbiddenImports(sourceFiles(SRC)), []);
  });

  it('the check sees a forbidden direction (a lower layer importing a higher one, or config/)', () => {
    // Proves the check can fail: net/ reading the config module (as net/dns.ts once did) and a source type.
    const text = "import { loadConfig } from '../config/env.js';\nimport type { Source } from '../sources/types.js';\nimport { x } from './policy.js';\n";
    assert.deepEqual(forbiddenImports([join(SRC, 'net', 'probe.ts')], () => text), [
      'src/net/probe.ts (net) imports src/config/env.js (config)',
      'src/net/probe.ts (net) imports src/sources/types.js (sources)',
    ]);
  });
});
