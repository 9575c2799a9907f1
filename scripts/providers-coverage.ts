// npm run providers:coverage -- <ispdb> [--providers <dir>] [--all]
// Measures how many domains of the ISPDB (the thunderbird/autoconfig repository) the embedded
// provider database answers offline, and whether its best incoming server is the ISPDB's.
// <ispdb>: a checkout or extracted copy of the repository (its ispdb/ folder is read), a folder of
// *.xml files, or a bare git directory (read with `git show`, locally: no network).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { formatEndpoint, measureCoverage, percent, type CoverageInput } from '../src/provider-db/coverage.js';
import { loadProviderDb } from '../src/provider-db/provider-db.js';

const USAGE = 'usage: npm run providers:coverage -- <ispdb-checkout | folder of *.xml | bare git dir> [--providers <dir>] [--all]';
const argv = process.argv.slice(2);
let source: string | undefined;
let providersDir: string | undefined;
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i]!;
  if (arg === '--providers') providersDir = argv[++i];
  else if (arg === '--all') continue;
  else if (arg.startsWith('--')) fail(`unknown option ${arg}`);
  else source = arg;
}
if (!source) fail('give the path of the ISPDB');
const showAll = argv.includes('--all');

function fail(message: string): never {
  console.error(`error: ${message}\n${USAGE}`);
  process.exit(2);
}

async function readInputs(from: string): Promise<{ inputs: CoverageInput[]; origin: string }> {
  const info = await stat(from).catch(() => fail(`cannot read ${from}`));
  if (!info.isDirectory()) fail(`${from} is not a directory`);
  const folder = existsSync(path.join(from, 'ispdb')) ? path.join(from, 'ispdb') : from;
  const names = (await readdir(folder)).filter((name) => name.endsWith('.xml')).sort();
  if (names.length > 0) {
    const inputs = await Promise.all(names.map(async (name) => ({ file: name, xml: await readFile(path.join(folder, name), 'utf8') })));
    return { inputs, origin: folder };
  }
  // A bare git directory (a mirror): the files of HEAD's ispdb/ folder.
  if (existsSync(path.join(from, 'HEAD')) && existsSync(path.join(from, 'objects'))) {
    const git = (...args: string[]) => execFileSync('git', ['--git-dir', from, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const commit = git('rev-parse', 'HEAD').trim();
    const files = git('ls-tree', '--name-only', 'HEAD', 'ispdb/').split('\n').filter((name) => name.endsWith('.xml'));
    const inputs = files.map((file) => ({ file: path.basename(file), xml: git('show', `HEAD:${file}`) }));
    return { inputs, origin: `${from} at commit ${commit}` };
  }
  fail(`no *.xml files in ${folder}`);
}

const { inputs, origin } = await readInputs(source);
const db = await loadProviderDb(providersDir ? { builtInDir: providersDir } : {});
const report = measureCoverage(db, inputs);

console.log(`ISPDB: ${origin} (${report.files} files)`);
for (const { file, reason } of report.unreadable) console.log(`  unreadable: ${file}: ${reason}`);
console.log(`ISPDB domains: ${report.total}`);
console.log(`answered offline: ${report.answered} (${percent(report.answered, report.total)})`);
console.log(
  `same best server: ${report.sameBest} of ${report.answered} (${percent(report.sameBest, report.answered)})` +
    (report.documented ? `, of which ${report.documented} differ for a documented reason` : ''),
);

const mismatches = report.domains.filter((entry) => entry.providerId && !entry.same);
if (mismatches.length > 0) {
  console.log(`\ndifferent best server (${mismatches.length}):`);
  for (const entry of mismatches) {
    const why = entry.documentedDifference ? ' [documented in the provider file]' : '';
    console.log(`  ${entry.domain} (${entry.file}) ispdb: ${formatEndpoint(entry.expected)}; ours (${entry.providerId}): ${formatEndpoint(entry.actual)}${why}`);
  }
}

const uncovered = new Map<string, string[]>();
for (const entry of report.domains) {
  if (!entry.providerId) uncovered.set(entry.file, [...(uncovered.get(entry.file) ?? []), entry.domain]);
}
const biggest = [...uncovered.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
if (biggest.length > 0) {
  console.log(`\nuncovered files (${biggest.length}, ${report.total - report.answered} domains)${showAll ? '' : ', biggest 25 (--all lists every one)'}:`);
  for (const [file, domains] of showAll ? biggest : biggest.slice(0, 25)) {
    console.log(`  ${file}: ${domains.length} domains (${domains.slice(0, 5).join(', ')}${domains.length > 5 ? ', …' : ''})`);
  }
}
