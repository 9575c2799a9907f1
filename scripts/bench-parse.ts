// npm run bench:parse — CPU time of each document reader (autoconfig XML, Autodiscover XML, PACC
// JSON) on the worst documents a stranger can make it read: every hostile shape (scripts/hostile-docs.ts)
// grown to main's old limit (256 KiB, no count caps: "before") and to the caps of
// src/formats/document-limits.ts ("after"). On main's code (no caps module) the "before" rows are
// main's readers; with the caps, they show what the new readers do with such a document (the HTTP
// client would have stopped it at 32/64 KiB already). CPU ms per parse from process.cpuUsage() (user + system),
// median and max of BENCH_PARSE_RUNS runs (default 21) after 5 unmeasured warm-up runs.
// Goal: ≤ 25 ms CPU for the worst document the caps allow.
import os from 'node:os';
import { parseAutodiscoverXml } from '../src/formats/autodiscover-xml.js';
import { parsePaccJson } from '../src/formats/pacc-json.js';
import { parseAutoconfigXml } from '../src/formats/autoconfig-xml.js';
import { hostileDocuments, type DocumentLimits } from './hostile-docs.js';

const RUNS = Number(process.env.BENCH_PARSE_RUNS ?? 21);
const WARMUP = 5;
const GOAL_MS = 25;
const OLD_MAX_BYTES = 256 * 1024;

// The caps module exists only once the caps do: without it (main's code) only "before" is measured.
const caps = (await import('../src/formats/document-limits.js' as string).catch(() => null)) as
  | { DOCUMENT_MAX_BYTES: number; AUTODISCOVER_MAX_BYTES: number; XML_MAX_ELEMENTS: number; XML_MAX_ATTRIBUTES: number; XML_MAX_DEPTH: number; PACC_DOCUMENT_MAX_BYTES?: number }
  | null;

const before: DocumentLimits = { maxBytes: OLD_MAX_BYTES, maxElements: Infinity, maxAttributes: Infinity, maxDepth: Infinity };
const after: DocumentLimits | null = caps
  ? { maxBytes: caps.DOCUMENT_MAX_BYTES, maxElements: caps.XML_MAX_ELEMENTS, maxAttributes: caps.XML_MAX_ATTRIBUTES, maxDepth: caps.XML_MAX_DEPTH }
  : null;

/** CPU ms of one call (process-wide, so a GC thread's work during the call counts too). */
function cpuMs(run: () => unknown): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** The outcome of a reader, in a word: ok (with server count) or its error code. */
function outcome(result: unknown): string {
  const value = result as { ok: boolean; error?: string; data?: { incoming?: unknown[]; outgoing?: unknown[]; servers?: unknown[] }; servers?: unknown[] };
  if (!value.ok) return value.error ?? 'error';
  const servers = value.servers ?? value.data?.servers ?? [...(value.data?.incoming ?? []), ...(value.data?.outgoing ?? [])];
  return `ok, ${servers.length} server(s)`;
}

/** PACC shapes: JSON is parsed by V8 in full before any count cap applies, so only bytes bound it. */
function paccDocuments(maxBytes: number): { shape: string; text: string }[] {
  const grow = (make: (count: number) => string) => {
    let low = 1;
    let high = maxBytes;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (make(middle).length <= maxBytes) low = middle;
      else high = middle - 1;
    }
    return make(low);
  };
  return [
    { shape: 'many entries', text: grow((count) => JSON.stringify({ protocols: { imap: Array.from({ length: count }, (_, index) => ({ host: `h${index}.hostile.test` })) } })) },
    { shape: 'many members', text: grow((count) => JSON.stringify({ protocols: {}, info: Object.fromEntries(Array.from({ length: count }, (_, index) => [`m${index}`, 0])) })) },
    { shape: 'deep nesting', text: grow((count) => `{"protocols":{},"info":${'['.repeat(count)}${']'.repeat(count)}}`) },
    { shape: 'long string', text: grow((count) => JSON.stringify({ protocols: {}, info: { provider: { name: 'a'.repeat(count) } } })) },
  ];
}

interface Row {
  reader: string;
  limits: string;
  shape: string;
  kib: string;
  result: string;
  median: number;
  max: number;
}

function measure(reader: string, limits: string, shape: string, size: number, run: () => unknown): Row {
  for (let index = 0; index < WARMUP; index += 1) run();
  const times: number[] = [];
  let result: unknown;
  for (let index = 0; index < RUNS; index += 1) times.push(cpuMs(() => (result = run())));
  return { reader, limits, shape, kib: (size / 1024).toFixed(1), result: outcome(result), median: median(times), max: Math.max(...times) };
}

const rows: Row[] = [];
const sets: [string, DocumentLimits][] = [['256 KiB, no count caps (main)', before], ...(after ? [['after: caps', after] as [string, DocumentLimits]] : [])];
for (const [label, limits] of sets) {
  for (const document of hostileDocuments('autoconfig', limits)) {
    rows.push(measure('autoconfig', label, document.shape, document.xml.length, () => parseAutoconfigXml(document.xml, { domain: 'hostile.test' })));
  }
  const autodiscoverLimits = label.startsWith('after') && caps ? { ...limits, maxBytes: caps.AUTODISCOVER_MAX_BYTES } : limits;
  for (const document of hostileDocuments('autodiscover', autodiscoverLimits)) {
    rows.push(measure('autodiscover', label, document.shape, document.xml.length, () => parseAutodiscoverXml(document.xml, { address: 'a@hostile.test' })));
  }
  const paccBytes = label.startsWith('after') ? (caps?.PACC_DOCUMENT_MAX_BYTES ?? caps?.DOCUMENT_MAX_BYTES ?? OLD_MAX_BYTES) : OLD_MAX_BYTES;
  for (const document of paccDocuments(paccBytes)) {
    const bytes = Buffer.from(document.text);
    rows.push(measure('pacc', label, document.shape, bytes.length, () => parsePaccJson(bytes)));
  }
}

const header = ['reader', 'limits', 'shape', 'KiB', 'result', 'CPU ms median', 'CPU ms max'];
const cells = rows.map((row) => [row.reader, row.limits, row.shape, row.kib, row.result, row.median.toFixed(2), row.max.toFixed(2)]);
const widths = header.map((title, index) => Math.max(title.length, ...cells.map((row) => (row[index] ?? '').length)));
const line = (row: string[]) => `| ${row.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join(' | ')} |`;
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; ${RUNS} runs per row after ${WARMUP} warm-up runs`);
console.log(line(header));
console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
for (const row of cells) console.log(line(row));
const worstAfter = rows.filter((row) => row.limits.startsWith('after')).reduce((worst, row) => Math.max(worst, row.median), 0);
const worstBefore = rows.filter((row) => row.limits.startsWith('256')).reduce((worst, row) => Math.max(worst, row.median), 0);
console.log(`worst median before: ${worstBefore.toFixed(2)} ms${after ? `; after: ${worstAfter.toFixed(2)} ms (goal ≤ ${GOAL_MS} ms)` : ' (no caps module: main\'s code)'}`);
if (after && worstAfter > GOAL_MS) process.exitCode = 1;
