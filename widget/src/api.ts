// The browser side of the lookup API: one fetch helper shared by the widget and the desk page.
import type { AuditResult } from '../../src/api/audit.js';
import type { Alternative, Check, LookupResult, Server, SourceReport } from '../../src/api/schemas.js';

export type { Alternative, AuditResult, Check, LookupResult, Server, SourceReport };

/** What a lookup call ended with, as the pages render it. */
export type LookupOutcome =
  | { kind: 'ok'; result: LookupResult; ms: number }
  | { kind: 'not-found'; message: string; sources: SourceReport[]; alternatives: Alternative[] }
  | { kind: 'rate-limited'; retryAfterS: number | null; message: string }
  | { kind: 'invalid'; message: string }
  | { kind: 'error'; status: number; message: string };

/** Query of one lookup: an address or a domain, plus the support options. */
export interface LookupQuery {
  query: string;
  check?: boolean;
  fresh?: boolean;
}

/** Builds the /v1/lookup URL: `email=` when the text has an @, `domain=` otherwise. */
export function lookupUrl(base: string, { query, check, fresh }: LookupQuery): string {
  const url = new URL('v1/lookup', base.endsWith('/') ? base : `${base}/`);
  const text = query.trim();
  url.searchParams.set(text.includes('@') ? 'email' : 'domain', text);
  if (check) url.searchParams.set('check', 'true');
  if (fresh) url.searchParams.set('fresh', 'true');
  return url.toString();
}

/** The failures every API call can end with, as the pages render them. */
export type ApiFailure = Extract<LookupOutcome, { kind: 'rate-limited' | 'invalid' | 'error' }>;

/** A GET of the API: the status, the parsed JSON body (null when none) and the round trip; never throws except on abort. */
async function getJson(url: string, signal?: AbortSignal): Promise<{ response: Response; body: unknown; ms: number } | ApiFailure> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: { accept: 'application/json' }, credentials: 'omit' });
  } catch (error) {
    if (signal?.aborted) throw error;
    return { kind: 'error', status: 0, message: error instanceof Error ? error.message : String(error) };
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { response, body, ms: Math.round(performance.now() - started) };
}

/** The error message of an API error body, else the status text. */
function errorMessage(response: Response, body: unknown): string {
  return (body as { error?: { message?: string } } | null)?.error?.message ?? response.statusText;
}

/** Sorts a failed answer into the states every page shows (429 with its Retry-After, 400, the rest). */
function failure(response: Response, body: unknown): ApiFailure {
  const message = errorMessage(response, body);
  if (response.status === 429) {
    const retry = Number(response.headers.get('retry-after'));
    return { kind: 'rate-limited', retryAfterS: Number.isFinite(retry) && retry > 0 ? Math.ceil(retry) : null, message };
  }
  if (response.status === 400) return { kind: 'invalid', message };
  return { kind: 'error', status: response.status, message };
}

/** Calls the API and sorts the answer into the states the pages show; never throws except on abort. */
export async function fetchLookup(base: string, query: LookupQuery, signal?: AbortSignal): Promise<LookupOutcome> {
  const got = await getJson(lookupUrl(base, query), signal);
  if ('kind' in got) return got;
  const { response, body, ms } = got;
  if (response.ok && body) return { kind: 'ok', result: body as LookupResult, ms };
  if (response.status === 404) {
    // The lookup's 404 carries the trace of every source consulted (support staff want the why).
    // A domain that offers only JMAP or Exchange lists them in `alternatives`.
    const { sources, alternatives } = (body ?? {}) as { sources?: unknown; alternatives?: unknown };
    return {
      kind: 'not-found',
      message: errorMessage(response, body),
      sources: Array.isArray(sources) ? (sources as SourceReport[]) : [],
      alternatives: Array.isArray(alternatives) ? (alternatives as Alternative[]) : [],
    };
  }
  return failure(response, body);
}

/** What an audit call ended with. */
export type AuditOutcome = { kind: 'ok'; audit: AuditResult; ms: number } | ApiFailure;

/** Calls GET /v1/audit for a domain; never throws except on abort. */
export async function fetchAudit(base: string, query: { domain: string; fresh?: boolean }, signal?: AbortSignal): Promise<AuditOutcome> {
  const url = new URL('v1/audit', base.endsWith('/') ? base : `${base}/`);
  url.searchParams.set('domain', query.domain.trim());
  if (query.fresh) url.searchParams.set('fresh', 'true');
  const got = await getJson(url.toString(), signal);
  if ('kind' in got) return got;
  if (got.response.ok && got.body) return { kind: 'ok', audit: got.body as AuditResult, ms: got.ms };
  return failure(got.response, got.body);
}
