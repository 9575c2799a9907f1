import type { DnsResolver } from '../net/dns.js';
import type { HttpClient } from '../net/http.js';
import { buildAutodiscoverRequest, parseAutodiscoverXml, type AutodiscoverParseResult } from '../formats/autodiscover-xml.js';
import { AUTODISCOVER_MAX_BYTES } from '../formats/document-limits.js';
import { abortedBeforeParse, fetchFailure, MIN_TTL_S, withoutQuery } from './autoconfig-fetch.js';
import { runRanked } from './ranked-runner.js';
import { httpsSrvTargets } from './srv.js';
import { documentResult, toCandidates, type CandidateAlternative, type Source, type SourceResult } from './types.js';
import { SOURCE_TABLE } from './source-table.js';

/** Redirects (RedirectAddr and RedirectUrl together) followed at most, as Thunderbird allows. */
export const MAX_AUTODISCOVER_REDIRECTS = 2;

/** What the Autodiscover source needs. */
export interface AutodiscoverSourceDeps {
  http: HttpClient;
  dns: DnsResolver;
}

/** The content type of the request; outlook.com wants exactly this spelling (Thunderbird bug 1454325). */
const CONTENT_TYPE = 'text/xml; charset=utf-8';
const PATH = '/autodiscover/autodiscover.xml';

/** One POST of the request: where, with which address, and what came back. */
interface Asked {
  /** The URL posted to. */
  url: string;
  /** The address the request carried. Privacy: never reported. */
  address: string;
  /** What to report when nothing usable came back. */
  failure?: SourceResult;
  /** The parsed answer and the URL that gave it (after HTTP redirects), when there was one. */
  answer?: { parsed: AutodiscoverParseResult; shownUrl: string; ttlS?: number };
}

/** True when `host` is the domain itself or a name under it (the domain's own hosts). */
export function isUnderDomain(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

/** The address asked about: the user's when known, else postmaster (RFC 5321 §4.5.1: every mail domain has it). */
export function requestAddress(email: string | null, domain: string): string {
  return email ?? `postmaster@${domain}`;
}

/** An answer that ends the search at its candidate: servers, or a redirect to follow. */
function isUsable(asked: Asked): boolean {
  const parsed = asked.answer?.parsed;
  if (!parsed?.ok) return false;
  return parsed.action !== 'settings' || parsed.servers.length > 0;
}

/** POSTs the request once and reads the answer; every failure is a value. */
async function ask(http: HttpClient, url: string, address: string, signal: AbortSignal): Promise<Asked> {
  const response = await http.post(url, buildAutodiscoverRequest(address), { contentType: CONTENT_TYPE, signal, maxBytes: AUTODISCOVER_MAX_BYTES });
  if (!response.ok) {
    const shown = withoutQuery(response.url || url);
    // A 401 is the usual Exchange answer to a request without credentials: a service is there,
    // but this service never sends credentials.
    if (response.code === 'http_error' && response.status === 401) {
      return { url, address, failure: { outcome: 'not-found', detail: 'asks for credentials (never sent)', url: shown } };
    }
    return { url, address, failure: fetchFailure(response, shown) };
  }
  const shownUrl = withoutQuery(response.url);
  // A better candidate or a better-ranked source answered while the body was arriving: not parsed.
  if (signal.aborted) return { url, address, failure: abortedBeforeParse(shownUrl) };
  const parsed = parseAutodiscoverXml(response.body, { address });
  const ttlS = response.dnsTtlS !== undefined ? Math.max(MIN_TTL_S, response.dnsTtlS) : undefined;
  return { url, address, answer: { parsed, shownUrl, ...(ttlS !== undefined ? { ttlS } : {}) } };
}

/** The SRV candidate of a domain: its first port-443 target, or why there is none. */
async function srvTarget(dns: DnsResolver, domain: string, signal: AbortSignal): Promise<{ host: string } | { failure: SourceResult }> {
  const name = `_autodiscover._tcp.${domain}`;
  const targets = await httpsSrvTargets(dns, name, signal);
  if (targets.kind === 'failed') return { failure: targets.failure };
  if (targets.kind === 'none') return { failure: { outcome: 'not-found', detail: targets.detail, url: name } };
  const host = targets.hosts[0];
  return host ? { host } : { failure: { outcome: 'not-found', detail: `${name}: no valid target on port 443`, url: name } };
}

/** Asks the SRV target of a domain, if it has one. */
async function askSrvTarget(deps: AutodiscoverSourceDeps, domain: string, address: string, signal: AbortSignal): Promise<Asked> {
  const target = await srvTarget(deps.dns, domain, signal);
  if (!('host' in target)) return { url: `_autodiscover._tcp.${domain}`, address, failure: target.failure };
  // Privacy: a target outside the domain is someone else's host: it learns only postmaster.
  return ask(deps.http, `https://${target.host}${PATH}`, isUnderDomain(target.host, domain) ? address : requestAddress(null, domain), signal);
}

/** Asks every candidate of one domain at once; returns them in candidate order. */
async function askDomain(deps: AutodiscoverSourceDeps, domain: string, address: string, signal: AbortSignal): Promise<Asked[]> {
  const shown = [`https://autodiscover.${domain}${PATH}`, `https://${domain}${PATH}`, `_autodiscover._tcp.${domain}`];
  const tasks: ((inner: AbortSignal) => Promise<Asked>)[] = [
    (inner) => ask(deps.http, shown[0] as string, address, inner),
    (inner) => ask(deps.http, shown[1] as string, address, inner),
    (inner) => askSrvTarget(deps, domain, address, inner),
  ];
  const bug = (index: number): Asked => ({ url: shown[index] ?? domain, address, failure: { outcome: 'error', error: 'internal_error', url: shown[index] ?? domain } });
  const results = await runRanked(tasks, isUsable, bug, signal);
  // A candidate still running when an earlier one answered was aborted: it is reported as skipped.
  return results.map((result, index) => result ?? { url: shown[index] ?? domain, address, failure: { outcome: 'skipped', url: shown[index] ?? domain } });
}

/** One step of the search: every candidate of a domain, or one URL a RedirectUrl named. */
type Step = { kind: 'domain'; domain: string; address: string } | { kind: 'url'; url: string; address: string };

/** What the search gathers across its steps: EWS alternatives, redirect notes and where it has been. */
interface Trail {
  /** The first URL asked, reported when a result names none. */
  firstUrl: string;
  alternatives: CandidateAlternative[];
  notes: string[];
  /** `addr:<address>` and `url:<url>` keys of the addresses and URLs asked. */
  visited: Set<string>;
  hops: number;
}

type Redirect = Extract<AutodiscoverParseResult, { action: 'redirectAddr' | 'redirectUrl' }>;

/** Adds every EWS endpoint the answers offered (each once) to the trail's alternatives. */
function collectEws(asked: readonly Asked[], trail: Trail): void {
  for (const entry of asked) {
    const parsed = entry.answer?.parsed;
    if (parsed?.ok && parsed.action === 'settings' && parsed.ewsUrl && !trail.alternatives.some((alternative) => alternative.url === parsed.ewsUrl)) {
      trail.alternatives.push({ kind: 'ews', url: parsed.ewsUrl, source: `autodiscover:${entry.answer?.shownUrl}`, trusted: true });
    }
  }
}

/** A result with the trail's notes and alternatives, and a URL (the first one asked when it names none). */
function withTrail(result: SourceResult, trail: Trail): SourceResult {
  const detail = [result.detail, ...trail.notes].filter(Boolean).join('; ');
  return { ...result, ...(detail ? { detail } : {}), ...(trail.alternatives.length ? { alternatives: trail.alternatives } : {}), url: result.url ?? trail.firstUrl };
}

/** The notes and dropped sections of a settings answer, for a result's detail. */
function answerNotes(parsed: Extract<AutodiscoverParseResult, { action: 'settings' }>): string[] {
  return [...parsed.notes, ...(parsed.dropped.length ? [`dropped: ${parsed.dropped.join('; ')}`] : [])];
}

/** The next step a redirect names, unless it leads back to where the search has been or past MAX_AUTODISCOVER_REDIRECTS. */
function follow(parsed: Redirect, shownUrl: string, address: string, trail: Trail): Step | SourceResult {
  const key = parsed.action === 'redirectAddr' ? `addr:${parsed.address.toLowerCase()}` : `url:${parsed.url}`;
  if (trail.visited.has(key)) {
    return { outcome: 'error', error: 'redirect_loop', detail: `${parsed.action} at ${shownUrl} leads back to where the search has been`, url: shownUrl };
  }
  trail.hops += 1;
  if (trail.hops > MAX_AUTODISCOVER_REDIRECTS) {
    return { outcome: 'error', error: 'too_many_redirects', detail: `more than ${MAX_AUTODISCOVER_REDIRECTS} Autodiscover redirects (last at ${shownUrl})`, url: shownUrl };
  }
  trail.visited.add(key);
  if (parsed.action === 'redirectAddr') {
    const domain = parsed.address.slice(parsed.address.lastIndexOf('@') + 1);
    trail.notes.push(`${shownUrl} redirected to an address at ${domain}`);
    return { kind: 'domain', domain, address: parsed.address };
  }
  // The same address goes on to the URL the answering host named (MS-OXDSCLI §3.1.5.2).
  trail.notes.push(`${shownUrl} redirected to ${withoutQuery(parsed.url)}`);
  return { kind: 'url', url: parsed.url, address };
}

/** What one step's answers end the search with (settings, or why none), or the step a redirect names. */
function afterStep(asked: Asked[], trail: Trail, signal: AbortSignal): Step | SourceResult {
  collectEws(asked, trail);
  const winner = asked.find(isUsable);
  // Aborted by the resolver (deadline, better answer, clients gone): what is left unasked says nothing.
  if (!winner && signal.aborted) {
    const summary = summarise(asked);
    return { outcome: 'timeout', ...(summary.detail ? { detail: summary.detail } : {}), ...(summary.url ? { url: summary.url } : {}) };
  }
  if (!winner?.answer) return summarise(asked);
  const { parsed, shownUrl, ttlS } = winner.answer;
  if (!parsed.ok) return summarise(asked);
  trail.visited.add(`url:${winner.url}`);
  trail.visited.add(`url:${shownUrl}`);
  if (parsed.action !== 'settings') return follow(parsed, shownUrl, winner.address, trail);
  const servers = toCandidates(parsed.servers, `autodiscover:${shownUrl}`, true);
  return documentResult(servers, {
    detail: [`${servers.length} server(s)`, ...answerNotes(parsed)].join('; '),
    url: shownUrl,
    ...(ttlS !== undefined ? { ttlS } : {}),
  });
}

/**
 * Source 2c: Exchange Autodiscover in its POX form (MS-OXDSCLI), as Thunderbird desktop asks it:
 * POST the request to https://autodiscover.<domain>/autodiscover/autodiscover.xml, then
 * https://<domain>/autodiscover/autodiscover.xml, then the target of `_autodiscover._tcp.<domain>`
 * (port 443 only), all at once, the first usable answer in that order winning. RedirectAddr and
 * RedirectUrl are followed (two hops at most, loops refused); IMAP, POP3 and SMTP sections become
 * servers, an EWS endpoint an alternative.
 * Security: HTTPS only, no credentials, every request through the HttpClient (address policy).
 * Privacy: the user's address goes only to the domain's own hosts and the hosts their redirects
 * name; an SRV target outside the domain is asked about postmaster@<domain>; no address is reported.
 */
export function createAutodiscoverSource(deps: AutodiscoverSourceDeps): Source {
  return {
    ...SOURCE_TABLE.autodiscover,
    async lookup({ subject, signal }): Promise<SourceResult> {
      let step: Step = { kind: 'domain', domain: subject.domain, address: requestAddress(subject.email, subject.domain) };
      const trail: Trail = { firstUrl: `https://autodiscover.${subject.domain}${PATH}`, alternatives: [], notes: [], visited: new Set([`addr:${step.address.toLowerCase()}`]), hops: 0 };
      for (;;) {
        const asked = step.kind === 'domain' ? await askDomain(deps, step.domain, step.address, signal) : [await ask(deps.http, step.url, step.address, signal)];
        const next = afterStep(asked, trail, signal);
        if (!('kind' in next)) return withTrail(next, trail);
        step = next;
      }
    },
  };
}

/** The outcome when no candidate gave a usable answer: the most telling failure, with every one listed. */
function summarise(asked: Asked[]): SourceResult {
  const results: SourceResult[] = asked.map((entry) => {
    if (entry.failure) return entry.failure;
    const answer = entry.answer;
    if (!answer) return { outcome: 'skipped' };
    const parsed = answer.parsed;
    if (!parsed.ok) return { outcome: 'error', error: parsed.error, detail: parsed.message, url: answer.shownUrl };
    if (parsed.action === 'settings') return { outcome: 'not-found', detail: ['no usable server', ...answerNotes(parsed)].join('; '), url: answer.shownUrl };
    return { outcome: 'skipped', url: answer.shownUrl };
  });
  const detail = results.map((result, index) => `${result.url ?? asked[index]?.url}: ${result.outcome}${result.detail ? ` (${result.detail})` : ''}`).join('; ');
  const url = asked[0]?.url;
  const blocked = results.find((result) => result.outcome === 'blocked');
  if (blocked) return { outcome: 'blocked', detail, url: blocked.url ?? url };
  // An answer with settings but no usable server says more than any failure.
  const settings = results.find((result, index) => result.outcome === 'not-found' && asked[index]?.answer?.parsed.ok);
  if (settings) return { outcome: 'not-found', detail, url: settings.url ?? url };
  const counted = results.filter((result) => result.outcome !== 'skipped');
  if (counted.length > 0 && counted.every((result) => result.outcome === 'timeout')) return { outcome: 'timeout', detail, url };
  const error = results.find((result) => result.outcome === 'error');
  if (error && error.outcome === 'error') return { outcome: 'error', error: error.error, detail, url: error.url ?? url };
  return { outcome: 'not-found', detail, url };
}
