import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Network } from '../../src/net/connect.js';
import { DnsResolver } from '../../src/net/dns.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { createDefaultSources, createHttpClient } from '../../src/sources/index.js';
import { SOURCE_TABLE } from '../../src/sources/source-table.js';
import { loadProviderDb } from '../../src/provider-db/provider-db.js';
import type { Prober } from '../../src/probes/types.js';

/** The README's source table: rank (or — for a companion) and name of every row. */
function readmeRows(): { rank: string; name: string }[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const header = readme.indexOf('| rank | source |');
  assert.ok(header >= 0, 'the README has a source table headed "| rank | source |"');
  const rows: { rank: string; name: string }[] = [];
  for (const line of readme.slice(header).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const [rank, name] = line.split('|').slice(1, 3).map((cell) => cell.trim());
    rows.push({ rank: rank ?? '', name: (name ?? '').replace(/`/g, '') });
  }
  return rows;
}

describe('the source table', () => {
  it('is what the README says: every source with its rank, companions unranked, in rank order', () => {
    const expected = Object.values(SOURCE_TABLE)
      .map((row) => ({ rank: 'companion' in row ? '—' : String(row.priority), name: row.name, priority: row.priority, companion: 'companion' in row }))
      .sort((a, b) => Number(a.companion) - Number(b.companion) || a.priority - b.priority)
      .map(({ rank, name }) => ({ rank, name }));
    assert.deepEqual(readmeRows(), expected);
  });

  it('is where the default sources take their names and ranks from', async () => {
    const network = new Network(new DnsResolver({ servers: ['127.0.0.1:9'], timeoutMs: 10, tries: 1 }), new AddressPolicy([]));
    const prober: Prober = { probe: () => Promise.reject(new Error('not used')) };
    const http = createHttpClient(network, { timeoutMs: 10, ispdbUrls: [] });
    const sources = createDefaultSources({ providerDb: await loadProviderDb(), network, http, prober, ispdbUrls: [], guessTimeoutMs: 10 });
    const scheduled = sources.map(({ name, priority, local, deferMs, crossCheckMs, companion, fallback }) =>
      Object.fromEntries(Object.entries({ name, priority, local, deferMs, crossCheckMs, companion, fallback }).filter(([, value]) => value !== undefined)),
    );
    await http.close();
    assert.deepEqual(scheduled, Object.values(SOURCE_TABLE).map((row) => ({ ...row })));
  });
});
