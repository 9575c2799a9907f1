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
      const answer = await deps.dns.mx(subject.domain, signal);
      if (!answer.ok) {
        if (answer.kind === 'not-found') return { outcome: 'not-found', detail: `no MX records for ${subject.domain}`, url: subject.domain };
        if (answer.kind === 'timeout') return { outcome: 'timeout', detail: `MX query: ${answer.code}`, url: subject.domain };
        return { outcome: 'error', error: 'dns_failed', detail: `MX query: ${answer.code}`, url: subject.domain };
      }
      const best = [...answer.records].sort((a, b) => a.priority - b.priority || a.exchange.localeCompare(b.exchange))[0];
      const host = (best?.exchange ?? '').toLowerCase().replace(/\.$/, '');
      if (!host) return { outcome: 'not-found', detail: `${subject.domain} accepts no mail (null MX)`, url: subject.domain };
      // Security: the exchange is an untrusted name that becomes part of URLs below ('/', '@', '?'
      // in a label would change what is fetched), so it must be a plain host name, as SRV targets must.
      if (!isPublicHostName(host)) return { outcome: 'not-found', detail: `the MX host of ${subject.domain} is not a valid host name`, url: subject.domain };
      const source = `mx:${host}`;

      const provider = deps.providerDb.byMxHost(host);
      if (provider) {
        return {
          outcome: 'found',
          provider,
          servers: providerServers(provider, source),
          detail: `MX ${host} belongs to ${provider.name}`,
          url: host,
        };
      }

      const domains = mxCandidateDomains(host, subject.domain);
      if (domains.length === 0) return { outcome: 'not-found', detail: `MX ${host} names no other domain to ask`, url: host };
      const attempts = domains.flatMap((domain) => {
        const autoconfigUrl = `https://autoconfig.${domain}/mail/config-v1.1.xml`;
        const list: { domain: string; url: string; kind: 'autoconfig' | 'ispdb' }[] = [{ domain, url: autoconfigUrl, kind: 'autoconfig' }];
        const ispdb = deps.ispdbUrls[0];
        if (ispdb) list.push({ domain, url: `${ispdb}${encodeURIComponent(domain)}`, kind: 'ispdb' });
        return list;
      });
      // All asked at once; the first found in order (parent before registrable, autoconfig before
      // ISPDB) wins, and what is still pending behind it is aborted.
      const results = await firstFoundInOrder(
        attempts.map((attempt) => (innerSignal: AbortSignal) =>
          attempt.kind === 'ispdb'
            ? fetchIspdb({ http: deps.http, baseUrls: deps.ispdbUrls, entry: attempt.domain, domain: subject.domain, serverSource: source, signal: innerSignal })
            : fetchAutoconfig({
                http: deps.http,
                url: attempt.url,
                shownUrl: attempt.url,
                source: attempt.kind,
                serverSource: source,
                trusted: true,
                domain: subject.domain,
                signal: innerSignal,
              }),
        ),
        signal,
      );
      const foundIndex = results.findIndex((result) => result?.outcome === 'found');
      const found = results[foundIndex];
      if (found && found.outcome === 'found') {
        return { ...found, detail: `MX ${host} → ${attempts[foundIndex]?.kind} of ${attempts[foundIndex]?.domain}: ${found.detail ?? ''}` };
      }
      // Every task has settled here (no found result ends it early), so the first partial is final.
      const partialIndex = results.findIndex((result) => result?.outcome === 'partial');
      const partial = results[partialIndex];
      if (partial && partial.outcome === 'partial') {
        return { ...partial, detail: `MX ${host} → ${attempts[partialIndex]?.kind} of ${attempts[partialIndex]?.domain}: ${partial.detail ?? ''}` };
      }
      const summary = results.map((result, index) => `${attempts[index]?.url}: ${result?.outcome ?? 'skipped'}`).join('; ');
      if (results.every((result) => result?.outcome === 'timeout')) return { outcome: 'timeout', detail: `MX ${host}; ${summary}`, url: host };
      return { outcome: 'not-found', detail: `MX ${host}; ${summary}`, url: host };
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
