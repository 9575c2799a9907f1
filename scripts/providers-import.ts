// npm run providers:import -- <file-or-directory> [--out <dir>] [--id <id>] [--force]
// Turns Mozilla config-v1.1.xml files (a directory: every *.xml file in it) into provider files.
// Writes <out>/<id>.json (default out: the built-in providers/ folder); refuses to overwrite an
// existing file unless --force, and never claims a domain another file of <out> lists. Exits 1 if any
// file failed, naming the file and the field.
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { importAutoconfigXml } from '../src/provider-db/import.js';
import { BUILT_IN_PROVIDERS_DIR, readProviderDir } from '../src/provider-db/provider-db.js';
import type { Provider } from '../src/provider-db/schema.js';

const MAX_FILE_BYTES = 1024 * 1024;
const USAGE = 'usage: npm run providers:import -- <file-or-directory> [--out <dir>] [--id <id>] [--force]';

function parseArgs(argv: string[]): { input: string; out: string; id: string | undefined; force: boolean } {
  let input: string | undefined;
  let out = BUILT_IN_PROVIDERS_DIR;
  let id: string | undefined;
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--force') force = true;
    else if (arg === '--out' || arg === '--id') {
      const value = argv[++i];
      if (!value) fail(`${arg} needs a value`);
      if (arg === '--out') out = value;
      else id = value;
    } else if (arg.startsWith('--')) fail(`unknown option ${arg}`);
    else if (input === undefined) input = arg;
    else fail(`only one file or directory, got ${input} and ${arg}`);
  }
  if (!input) fail('give a config-v1.1.xml file or a directory of them');
  return { input, out, id, force };
}

function fail(message: string): never {
  console.error(`error: ${message}\n${USAGE}`);
  process.exit(2);
}

const args = parseArgs(process.argv.slice(2));
const inputStat = await stat(args.input).catch(() => fail(`cannot read ${args.input}`));
const files = inputStat.isDirectory()
  ? (await readdir(args.input)).filter((name) => name.endsWith('.xml')).sort().map((name) => path.join(args.input, name))
  : [args.input];
if (files.length === 0) fail(`no *.xml file in ${args.input}`);
if (args.id !== undefined && files.length > 1) fail('--id applies to a single file only');
if (!existsSync(args.out)) fail(`output directory ${args.out} does not exist`);

// Domains the output directory already assigns, so an import cannot claim one twice.
const owners = new Map<string, string>();
try {
  for (const provider of await readProviderDir(args.out)) for (const domain of provider.domains) owners.set(domain, provider.id);
} catch (error) {
  console.warn(`warning: ${(error as Error).message}; domains are not cross-checked`);
}

let imported = 0;
const written = new Set<string>();
for (const file of files) {
  const errors: string[] = [];
  let provider: Provider | undefined;
  const size = (await stat(file)).size;
  if (size > MAX_FILE_BYTES) errors.push(`file is larger than ${MAX_FILE_BYTES} bytes`);
  else {
    const result = importAutoconfigXml(await readFile(file, 'utf8'), args.id === undefined ? {} : { id: args.id });
    for (const warning of result.warnings) console.warn(`warning: ${file}: ${warning}`);
    if (result.ok) provider = result.provider;
    else errors.push(...result.errors);
  }
  if (provider) {
    const target = path.join(args.out, `${provider.id}.json`);
    if (written.has(provider.id)) errors.push(`id: ${provider.id} was already imported from another file of this run`);
    else if (existsSync(target) && !args.force) errors.push(`id: ${target} exists; pass --force to overwrite it (or --id to choose another id)`);
    for (const domain of provider.domains) {
      const owner = owners.get(domain);
      if (owner && owner !== provider.id) errors.push(`domains: ${domain} is already claimed by ${owner}.json`);
    }
    if (errors.length === 0) {
      await writeFile(target, `${JSON.stringify(provider, null, 2)}\n`);
      written.add(provider.id);
      for (const domain of provider.domains) owners.set(domain, provider.id);
      imported++;
      console.log(`${file} -> ${target} (${provider.domains.length} domains, ${provider.incoming.length} incoming, ${provider.outgoing.length} outgoing)`);
    }
  }
  for (const error of errors) console.error(`error: ${file}: ${error}`);
}
console.log(`imported ${imported} of ${files.length} files into ${args.out}`);
process.exit(imported === files.length ? 0 : 1);
