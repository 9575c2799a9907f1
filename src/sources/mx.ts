import { getDomain, getPublicSuffix } from 'tldts';
import type { DnsResolver } from '../net/dns.js';
import type { HttpClient } from '../net/http.js';
import type { ProviderDb } from '../provider-db/provider-db.js';
import { fetchAutoconfig } from './autoconfig-fetch.js';
import { runRanked } from './ranked-runner.js';
import { fetchIspdb } from './ispdb.js';
import { isPublicHostName } from '../api/input.js';
import { providerServers } from '../provider-db/provider-servers.js';
import type { Source, SourceResult } from './types.js';
import { SOURCE_TABLE } from './source-table.js';

/** What the MX source needs. */
export interface MxSourceDeps {
  dns: DnsResolver;
  providerDb: ProviderDb;
  http: HttpClient;
  /** ISPDB_URLS; empty skips the ISPDB step. */
  ispdbUrls: readonly string[];
}

/**
 * The domains worth asking about an MX host: its parent domain and its registrable domain (public
 * suffix list), without public suffixes and without the mail domain itself (other sources ask that).
 */
export function mxCandidateDomains(mxHost: string, mailDomain: string): string[] {
  const host = mxHost.toLowerCase().replace(/\.$/, '');
  const parent = host.includes('.') ? host.slice(host.indexOf('.') + 1) : '';
  const registrable = getDomain(host) ?? '';
  const result: string[] = [];
  for (const candidate of [parent, registrable]) {
    if (!candidate || !candidate.includes('.') || candidate === mailDomain || result.includes(candidate)) continue;
    if (getPublicSuffix(candidate) === candidate) continue;
    if (registrable && !candidate.endsWith(registrable)) continue;
    result.push(candidate);
  }
  return result;
}

/** One document asked about an MX host's domain: its autoconfig file or its ISPDB entry. */
interface MxAttempt {
  domain: string;
  url: string;
  kind: 'autoconfig' | 'ispdb';
}

/** The best MX host of a domain (lowest preference) as a checked host name, or why there is none. */
async function bestMxHost(dns: DnsResolver, domain: string, signal: AbortSignal): Promise<{ host: string } | SourceResult> {
  const answer = await dns.mx(domain, signal);
  if (!answer.ok) {
    if (answer.kind === 'not-found') return { outcome: 'not-found', detail: `no MX records for ${domain}`, url: domain };
    if (answer.kind === 'timeout') return { outcome: 'timeout', detail: `MX query: ${answer.code}`, url: domain };
    return { outcome: 'error', error: 'dns_failed', detail: `MX query: ${answer.code}`, url: domain };
  }
  const best = [...answer.records].sort((a, b) => a.priority - b.priority || a.exchange.localeCompare(b.exchange))[0];
  const host = (best?.exchange ?? '').toLowerCase().replace(/\.$/, '');
  if (!host) return { outcome: 'not-found', detail: `${domain} accepts no mail (null MX)`, url: domain };
  // Security: the exchange is an untrusted name that becomes part of URLs below ('/', '@', '?'
  // in a label would change what is fetched), so it must be a plain host name, as SRV targets must.
  if (!isPublicHostName(host)) return { outcome: 'not-found', detail: `the MX host of ${domain} is not a valid host name`, url: domain };
  return { host };
}

/** For each domain in order, its autoconfig file, then its ISPDB entry (when an ISPDB is configured). */
function mxAttempts(domains: readonly string[], ispdbUrls: readonly string[]): MxAttempt[] {
  return domains.flatMap((domain) => {
    const list: MxAttempt[] = [{ domain, url: `https://autoconfig.${domain}/mail/config-v1.1.xml`, kind: 'autoconfig' }];
    const ispdb = ispdbUrls[0];
    if (ispdb) list.push({ domain, url: `${ispdb}${encodeURIComponent(domain)}`, kind: 'ispdb' });
    return list;
  });
}

/** Asks one attempt; its servers are tagged `source` (`mx:<host>`), and the mail domain is what they are for. */
function runAttempt(deps: MxSourceDeps, attempt: MxAttempt, mailDomain: string, source: string, signal: AbortSignal): Promise<SourceResult> {
  if (attempt.kind === 'ispdb') {
    return fetchIspdb({ http: deps.http, baseUrls: deps.ispdbUrls, entry: attempt.domain, domain: mailDomain, serverSource: source, signal });
  }
  return fetchAutoconfig({ http: deps.http, url: attempt.url, shownUrl: attempt.url, source: attempt.kind, serverSource: source, trusted: true, domain: mailDomain, signal });
}

/** The first `found` attempt, else the first `partial` one, else a summary of every attempt. */
function attemptsResult(host: string, attempts: readonly MxAttempt[], results: readonly (SourceResult | undefined)[]): SourceResult {
  // Every task has settled when nothing was found (no found result ends it early), so the first partial is final.
  for (const outcome of ['found', 'partial'] as const) {
    const index = results.findIndex((result) => result?.outcome === outcome);
    const result = results[index];
    if (result && (result.outcome === 'found' || result.outcome === 'partial')) {
      return { ...result, detail: `MX ${host} → ${attempts[index]?.kind} of ${attempts[index]?.domain}: ${result.detail ?? ''}` };
    }
  }
  const summary = results.map((result, index) => `${attempts[index]?.url}: ${result?.outcome ?? 'skipped'}`).join('; ');
  if (results.every((result) => result?.outcome === 'timeout')) return { outcome: 'timeout', detail: `MX ${host}; ${summary}`, url: host };
  return { outcome: 'not-found', detail: `MX ${host}; ${summary}`, url: host };
}

/**
 * Source 5: the domain's best MX host (lowest preference). A host under a known provider's MX suffix
 * (Google Workspace, Microsoft 365 …) answers from the provider database; otherwise the autoconfig
 * host and the ISPDB entry of the MX host's parent and registrable domains are asked. Every server
 * found this way names another domain, so its `source` says `mx:<host>`. Privacy: the address is
 * never sent to those other domains.
 */
export function createMxSource(deps: MxSourceDeps): Source {
  return {
    ...SOURCE_TABLE.mx,
    async lookup({ subject, signal }): Promise<SourceResult> {
      const best = await bestMxHost(deps.dns, subject.domain, signal);
      if (!('host' in best)) return best;
      const { host } = best;
      const source = `mx:${host}`;
      const provider = deps.providerDb.byMxHost(host);
      if (provider) {
        return { outcome: 'found', provider, servers: providerServers(provider, source), detail: `MX ${host} belongs to ${provider.name}`, url: host };
      }
      const domains = mxCandidateDomains(host, subject.domain);
      if (domains.length === 0) return { outcome: 'not-found', detail: `MX ${host} names no other domain to ask`, url: host };
      const attempts = mxAttempts(domains, deps.ispdbUrls);
      // All asked at once; the first found in order (parent before registrable, autoconfig before
      // ISPDB) wins, and what is still pending behind it is aborted.
      const results = await firstFoundInOrder(
        attempts.map((attempt) => (innerSignal: AbortSignal) => runAttempt(deps, attempt, subject.domain, source, innerSignal)),
        signal,
      );
      return attemptsResult(host, attempts, results);
    },
  };
}

/** The MX step's candidates in order: the first `found` wins (see runRanked). */
export function firstFoundInOrder(
  tasks: ((signal: AbortSignal) => Promise<SourceResult>)[],
  signal: AbortSignal,
): Promise<(SourceResult | undefined)[]> {
  return runRanked(tasks, (result) => result.outcome === 'found', () => ({ outcome: 'error', error: 'internal_error' }), signal);
}
