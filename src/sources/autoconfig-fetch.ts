import type { Instruction } from '../api/schemas.js';
import { DOCUMENT_MAX_BYTES } from '../formats/document-limits.js';
import type { HttpClient, HttpResult } from '../net/http.js';
import { parseAutoconfigXml, type AutoconfigData } from '../formats/autoconfig-xml.js';
import { documentResult, toCandidates, type CandidateServer, type SourceResult } from './types.js';

/** Shortest cache lifetime an HTTP answer gets from its DNS TTL. */
export const MIN_TTL_S = 60;

/** What fetching one autoconfig URL needs. */
export interface AutoconfigFetch {
  http: HttpClient;
  /** The URL to fetch (may carry the address in its query). */
  url: string;
  /** The URL shown in reports and provenance. Privacy: never the address (answers are cached per domain). */
  shownUrl: string;
  /** Provenance prefix of the servers, e.g. `autoconfig`, `ispdb` (followed by `:<shownUrl>`). */
  source: string;
  /** The whole provenance string instead, e.g. `mx:mx1.hoster.example` for answers reached via MX. */
  serverSource?: string;
  /** False for plain HTTP: an attacker on the path could have changed the answer. */
  trusted: boolean;
  /** The mail domain looked up (fills %EMAILDOMAIN% in host names). */
  domain: string;
  signal: AbortSignal;
}

/** Strips query and fragment: reports and provenance must not carry the email address. */
export function withoutQuery(url: string): string {
  const parsed = new URL(url);
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}

/** Turns a failed fetch into a source outcome: absent documents are `not-found`, refusals `blocked`. */
export function fetchFailure(result: Extract<HttpResult, { ok: false }>, shownUrl: string): SourceResult {
  const detail = result.message;
  switch (result.code) {
    case 'no_such_host':
      return { outcome: 'not-found', detail, url: shownUrl };
    case 'http_error':
      if (result.status === 404 || result.status === 410) return { outcome: 'not-found', detail, url: shownUrl };
      return { outcome: 'error', error: 'http_error', detail, url: shownUrl };
    case 'blocked':
      return { outcome: 'blocked', detail, url: shownUrl };
    case 'timeout':
    case 'aborted':
      return { outcome: 'timeout', detail, url: shownUrl };
    default:
      return { outcome: 'error', error: result.code, detail, url: shownUrl };
  }
}

/** Candidate servers from parsed autoconfig data, tagged with provenance and trust (and 1.2 OAuth details). */
export function autoconfigServers(data: AutoconfigData, source: string, trusted: boolean): CandidateServer[] {
  const oauth2 = data.oauth2
    ? {
        issuer: data.oauth2.issuer,
        authorizationEndpoint: data.oauth2.authorizationEndpoint ?? null,
        tokenEndpoint: data.oauth2.tokenEndpoint ?? null,
        scopes: data.oauth2.scopes,
        source,
      }
    : undefined;
  return toCandidates([...data.incoming, ...data.outgoing], source, trusted, oauth2);
}

/**
 * The document's `<enable>` and `<documentation>` entries as answer instructions, tagged with the
 * document as their source. Security: only from a document fetched over HTTPS (`trusted`): on plain
 * HTTP anyone on the path could swap in a phishing link ("turn on IMAP here") that the widget shows
 * as the provider's own word, and unlike a server such a link carries no "untrusted" mark.
 */
export function autoconfigInstructions(data: AutoconfigData, source: string, trusted: boolean): Instruction[] {
  if (!trusted) return [];
  const copy = (texts: readonly { lang: string; text: string }[]) => texts.map(({ lang, text }) => ({ lang, text }));
  return [
    ...data.instructions.map((entry) => ({ kind: 'enable' as const, ...(entry.url ? { url: entry.url } : {}), texts: copy(entry.texts), source })),
    ...data.documentationPages.map((entry) => ({ kind: 'documentation' as const, url: entry.url, texts: copy(entry.texts), source })),
  ];
}

/**
 * The outcome of a document whose body arrived after its lookup no longer wanted it (a better-ranked
 * source answered, the deadline passed, every client left): reported like an aborted fetch.
 * Security: the body is dropped unparsed, so a lower-ranked hostile document costs no parse.
 */
export function abortedBeforeParse(shownUrl: string): SourceResult {
  return fetchFailure({ ok: false, code: 'aborted', message: 'the document arrived after the lookup was decided; not parsed', url: shownUrl }, shownUrl);
}

/** Fetches and reads one autoconfig document (at most DOCUMENT_MAX_BYTES); every failure is a value. */
export async function fetchAutoconfig(options: AutoconfigFetch): Promise<SourceResult> {
  const response = await options.http.get(options.url, { signal: options.signal, maxBytes: DOCUMENT_MAX_BYTES });
  if (!response.ok) return fetchFailure(response, options.shownUrl);
  if (options.signal.aborted) return abortedBeforeParse(options.shownUrl);
  const parsed = parseAutoconfigXml(response.body, { domain: options.domain });
  if (!parsed.ok) return { outcome: 'error', error: parsed.error, detail: parsed.message, url: options.shownUrl };
  const provenance = options.serverSource ?? `${options.source}:${options.shownUrl}`;
  const servers = autoconfigServers(parsed.data, provenance, options.trusted);
  const instructions = autoconfigInstructions(parsed.data, provenance, options.trusted);
  const droppedNote = parsed.dropped.length ? `; dropped: ${parsed.dropped.join('; ')}` : '';
  const name = parsed.data.displayName ? ` (${parsed.data.displayName})` : '';
  const alternatives = parsed.data.urlServers.map((server) => ({
    kind: server.kind,
    url: server.url,
    source: provenance,
    trusted: options.trusted,
  }));
  return documentResult(servers, {
    ...(alternatives.length > 0 ? { alternatives } : {}),
    ...(instructions.length > 0 ? { instructions } : {}),
    detail: servers.length > 0 ? `${servers.length} server(s)${name}${droppedNote}` : `the document lists no usable server${droppedNote}`,
    url: options.shownUrl,
    // The answer is only as durable as the addresses it was fetched from (with a floor, so a
    // zero-TTL host cannot turn every lookup into a fresh fan-out).
    ...(response.dnsTtlS !== undefined ? { ttlS: Math.max(MIN_TTL_S, response.dnsTtlS) } : {}),
  });
}
