import type { HttpClient } from '../net/http.js';
import { fetchAutoconfig } from './autoconfig-fetch.js';
import type { Source, SourceResult } from './types.js';
import { SOURCE_TABLE } from './source-table.js';

/** What asking the ISPDB about one domain needs. */
export interface IspdbQuery {
  http: HttpClient;
  /** ISPDB_URLS, in order: a later base is asked only when the one before it failed. */
  baseUrls: readonly string[];
  /** The domain whose entry is wanted (the mail domain, or a domain reached via MX). */
  entry: string;
  /** The mail domain looked up (fills %EMAILDOMAIN%). */
  domain: string;
  /** Provenance of the servers when not `ispdb:<url>` (e.g. `mx:<host>`). */
  serverSource?: string;
  signal: AbortSignal;
}

/** Outcomes that mean "this database could not tell": the next base URL is asked. A 404 is an answer. */
const FAILED = new Set<SourceResult['outcome']>(['error', 'timeout', 'blocked']);

/**
 * Asks `<base><entry>` of each ISPDB base in turn until one answers (found, partial or not-found);
 * an http:// base is an unauthenticated channel like any other, so its servers are untrusted.
 */
export async function fetchIspdb(query: IspdbQuery): Promise<SourceResult> {
  let result: SourceResult = { outcome: 'skipped', detail: 'ISPDB_URLS is empty: the central database is disabled' };
  const failures: string[] = [];
  for (const base of query.baseUrls) {
    if (query.signal.aborted) break;
    const url = `${base}${encodeURIComponent(query.entry)}`;
    result = await fetchAutoconfig({
      http: query.http,
      url,
      shownUrl: url,
      source: 'ispdb',
      ...(query.serverSource ? { serverSource: query.serverSource } : {}),
      trusted: base.startsWith('https://'),
      domain: query.domain,
      signal: query.signal,
    });
    if (!FAILED.has(result.outcome)) break;
    failures.push(`${url}: ${result.outcome}${result.detail ? ` (${result.detail})` : ''}`);
  }
  if (failures.length > 0 && !FAILED.has(result.outcome)) {
    return { ...result, detail: [`asked after ${failures.join('; ')}`, result.detail].filter(Boolean).join('; ') };
  }
  return result;
}

/**
 * Source 3: the central ISPDB, `<base><domain>` for each of ISPDB_URLS (Thunderbird's database,
 * then the draft's): the next is asked only when one fails. An empty list disables it (`skipped`).
 */
export function createIspdbSource(http: HttpClient, baseUrls: readonly string[]): Source {
  return {
    ...SOURCE_TABLE.ispdb,
    lookup: ({ subject, signal }) => fetchIspdb({ http, baseUrls, entry: subject.domain, domain: subject.domain, signal }),
  };
}
