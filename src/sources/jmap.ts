import type { DnsResolver } from '../net/dns.js';
import type { HttpClient } from '../net/http.js';
import { fetchFailure } from './autoconfig-fetch.js';
import { isPublicHostName } from '../api/input.js';
import { httpsSrvTargets } from './srv.js';
import type { CandidateAlternative, Source, SourceResult } from './types.js';
import { SOURCE_TABLE } from './source-table.js';

/** Longest session URL reported (a redirect may name anything; the answer must stay small). */
export const MAX_JMAP_URL_LENGTH = 2048;

/**
 * SRV targets fetched at most, in RFC 2782 order (each one is an outbound HTTPS request). With the
 * domain's own well-known URL this also caps the alternatives at three.
 */
export const MAX_JMAP_SRV_TARGETS = 2;

/** The JMAP capability every session object must list (RFC 8620 §2). */
const CORE_CAPABILITY = 'urn:ietf:params:jmap:core';

/** What the JMAP source needs. */
export interface JmapSourceDeps {
  http: HttpClient;
  dns: DnsResolver;
}

/** A checked session URL, or why a redirect target was refused. */
export type SessionUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/**
 * Checks the target of the well-known redirect before it is reported as the session URL.
 * Security: the Location header is untrusted; only a short https URL naming a host name, without
 * credentials, is accepted (the fragment is dropped: it is never part of a request).
 */
export function checkSessionUrl(location: string): SessionUrlCheck {
  if (location.length > MAX_JMAP_URL_LENGTH) return { ok: false, reason: `redirect target longer than ${MAX_JMAP_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return { ok: false, reason: 'redirect target is not a URL' };
  }
  // RFC 8620 §2.2 / §8.1: JMAP is only ever reached over TLS.
  if (url.protocol !== 'https:') return { ok: false, reason: `redirect to scheme ${url.protocol.slice(0, 20)} refused` };
  if (url.username || url.password) return { ok: false, reason: 'redirect target with credentials refused' };
  if (!isPublicHostName(url.hostname)) return { ok: false, reason: 'redirect target does not name a valid host' };
  url.hash = '';
  if (url.href.length > MAX_JMAP_URL_LENGTH) return { ok: false, reason: `redirect target longer than ${MAX_JMAP_URL_LENGTH} characters` };
  return { ok: true, url: url.href };
}

/**
 * True for a JSON body that is a JMAP session object (RFC 8620 §2): an object whose `capabilities`
 * object lists the core capability. Security: the body is untrusted and only inspected, never kept.
 */
export function looksLikeSession(body: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
  const capabilities = (parsed as Record<string, unknown>).capabilities;
  if (typeof capabilities !== 'object' || capabilities === null || Array.isArray(capabilities)) return false;
  return Object.hasOwn(capabilities, CORE_CAPABILITY);
}

/** What asking one well-known URL ended with. */
interface Probe {
  url: string;
  alternative?: CandidateAlternative;
  /** Set when no alternative came of it. */
  failure?: SourceResult;
}

/** What the SRV question ended with: the well-known URLs of its targets, and what was noted. */
interface SrvCandidates {
  urls: string[];
  notes: string[];
  failure?: SourceResult;
}

/** How telling a failure is when nothing was found: a refusal by a safety rule first, plain absence last. */
const FAILURE_RANK: Record<SourceResult['outcome'], number> = { blocked: 0, error: 1, timeout: 2, 'not-found': 3, skipped: 4, partial: 5, found: 6 };

const wellKnownOf = (host: string) => `https://${host}/.well-known/jmap`;

/**
 * Asks `_jmap._tcp.<domain>` (RFC 8620 §2.2) and turns its targets into well-known URLs, in RFC 2782
 * order. Security: targets are untrusted names; only valid host names on port 443 are fetched (the
 * HTTP client refuses other ports, and widening them would let DNS point fetches at any service).
 */
async function srvCandidates(dns: DnsResolver, domain: string, signal: AbortSignal): Promise<SrvCandidates> {
  const targets = await httpsSrvTargets(dns, `_jmap._tcp.${domain}`, signal);
  if (targets.kind === 'failed') return { urls: [], notes: [targets.failure.detail ?? ''], failure: targets.failure };
  if (targets.kind === 'none') return { urls: [], notes: targets.notOffered ? [targets.detail] : [] };
  const urls: string[] = [];
  const notes = [...targets.notes];
  for (const host of targets.hosts) {
    const url = wellKnownOf(host);
    if (urls.length >= MAX_JMAP_SRV_TARGETS) {
      notes.push(`_jmap._tcp.${domain}: ${host} not asked (at most ${MAX_JMAP_SRV_TARGETS} targets)`);
      continue;
    }
    urls.push(url);
  }
  return { urls, notes };
}

/**
 * Asks one well-known URL without following its redirect (RFC 8620 §2.2: the redirect target is the
 * session resource, which needs credentials, so it is reported, never fetched).
 */
async function probe(http: HttpClient, url: string, signal: AbortSignal): Promise<Probe> {
  const alternative = (sessionUrl: string): Probe => ({ url, alternative: { kind: 'jmap', url: sessionUrl, source: `jmap:${url}`, trusted: true } });
  const response = await http.get(url, { signal, redirect: 'manual', accept: 'application/json' });
  if (!response.ok) {
    // 401: the session resource is served at the well-known URL itself, behind authentication.
    if (response.code === 'http_error' && response.status === 401) return alternative(url);
    const failure = fetchFailure(response, url);
    return { url, failure: { ...failure, detail: `${url}: ${failure.detail ?? response.code}` } };
  }
  if (response.location !== undefined) {
    const checked = checkSessionUrl(response.location);
    if (checked.ok) return alternative(checked.url);
    return { url, failure: { outcome: 'error', error: 'redirect_refused', detail: `${url}: ${checked.reason}`, url } };
  }
  // A 200 with the session object itself: the well-known URL is the session resource.
  if (response.status === 200 && looksLikeSession(response.body)) return alternative(url);
  return { url, failure: { outcome: 'not-found', detail: `${url}: HTTP ${response.status} without a JMAP session`, url } };
}

/**
 * Companion source: JMAP discovery (RFC 8620 §2.2). Asks `_jmap._tcp.<domain>` and
 * `https://<domain>/.well-known/jmap` at once, then the well-known URL of each SRV target. A redirect,
 * a 401 or a session object shows a JMAP endpoint; it is reported as an alternative, never as a server,
 * so the outcome is at best `not-found` with `alternatives`. Privacy: only the domain is used.
 */
export function createJmapSource(deps: JmapSourceDeps): Source {
  return {
    ...SOURCE_TABLE.jmap,
    async lookup({ subject, signal }): Promise<SourceResult> {
      const direct = wellKnownOf(subject.domain);
      const [srv, directProbe] = await Promise.all([
        srvCandidates(deps.dns, subject.domain, signal),
        probe(deps.http, direct, signal),
      ]);
      const srvProbes = await Promise.all(srv.urls.filter((url) => url !== direct).map((url) => probe(deps.http, url, signal)));
      // SRV targets first (RFC 8620 §2.2 names SRV as the way to find the host), then the domain itself.
      const probes = [...srvProbes, directProbe];

      const alternatives: CandidateAlternative[] = [];
      for (const entry of probes) {
        const found = entry.alternative;
        if (found && !alternatives.some((seen) => seen.url === found.url)) alternatives.push(found);
      }
      const failureNotes = probes.flatMap((entry) => (entry.failure?.detail ? [entry.failure.detail] : []));
      const notes = [...srv.notes, ...failureNotes];
      const first = alternatives[0];
      if (first) {
        const askedAt = probes.find((entry) => entry.alternative?.url === first.url)?.url ?? direct;
        const detail = `JMAP session at ${alternatives.map((entry) => entry.url).join(', ')}${notes.length ? `; ${notes.join('; ')}` : ''}`;
        return { outcome: 'not-found', alternatives, detail, url: askedAt };
      }
      const failures = [...(srv.failure ? [srv.failure] : []), ...probes.flatMap((entry) => (entry.failure ? [entry.failure] : []))];
      const worst = failures.sort((a, b) => FAILURE_RANK[a.outcome] - FAILURE_RANK[b.outcome])[0];
      const detail = notes.length ? notes.join('; ') : 'no JMAP endpoint';
      if (!worst) return { outcome: 'not-found', detail, url: direct };
      return { ...worst, detail };
    },
  };
}
