import type { Log as Logger } from '../logging/log.js';
import type { Instruction, SourceErrorCode, SourceReport } from '../api/schemas.js';
import type { CandidateAlternative, CandidateServer } from '../formats/candidate.js';

export { toCandidates, type CandidateAlternative, type CandidateServer } from '../formats/candidate.js';
import type { LookupSubject } from '../api/input.js';
import type { Provider } from '../provider-db/schema.js';
import type { TlsOutcomes } from './tls-outcomes.js';

/** What every result may carry besides its outcome. */
interface ResultExtras {
  detail?: string;
  url?: string;
  /** Non-IMAP/POP3/SMTP access methods this source saw, whatever its outcome. */
  alternatives?: CandidateAlternative[];
}

/**
 * What one source ended with. Failures are values; sources throw only for bugs.
 * `found` always carries at least one incoming server: only such an answer can end the search.
 * `partial` is an answer without any incoming server (e.g. a document whose only usable section
 * is SMTP): its servers are merged below every `found` source's, and the search goes on.
 */
export type SourceResult =
  | (ResultExtras & {
      outcome: 'found' | 'partial';
      servers: CandidateServer[];
      provider?: Provider;
      /** The document's `<enable>` and `<documentation>` entries (documents fetched over HTTPS only). */
      instructions?: Instruction[];
      /** How long this answer may be cached (e.g. from DNS TTLs); the cache caps it. */
      ttlS?: number;
    })
  | (ResultExtras & { outcome: 'not-found' | 'skipped' | 'timeout'; ttlS?: number })
  /** Refused by a safety rule (address policy, failed integrity check); `error` names the rule when it is not the address policy. */
  | (ResultExtras & { outcome: 'blocked'; error?: SourceErrorCode })
  | (ResultExtras & { outcome: 'error'; error: SourceErrorCode });

/**
 * Turns the servers a document yielded into a result by the one rule every document-based source
 * follows: `found` with an incoming server, `partial` with outgoing ones only, else `not-found`.
 */
export function documentResult(
  servers: CandidateServer[],
  base: ResultExtras & { provider?: Provider; instructions?: Instruction[]; ttlS?: number },
): SourceResult {
  if (servers.some((server) => server.protocol !== 'smtp')) return { ...base, outcome: 'found', servers };
  if (servers.length > 0) {
    const note = 'no incoming server: its outgoing server(s) are used, and the search went on';
    return { ...base, outcome: 'partial', servers, detail: base.detail ? `${base.detail}; ${note}` : note };
  }
  return { ...base, outcome: 'not-found', detail: base.detail ?? 'no usable server' };
}

/** What a source gets for one lookup. */
export interface SourceContext {
  subject: LookupSubject;
  /** Aborted when the deadline passes, a higher-ranked source answered, or every client left. */
  signal: AbortSignal;
  log: Logger;
  /**
   * TLS outcomes of this discovery's HTTPS fetches, shared by its sources (the resolver gives every
   * discovery a fresh one; without it a source cannot know, e.g. in a test of one source alone).
   */
  tls?: TlsOutcomes;
}

/** One way of finding settings. Dependencies are bound when the source is created. */
export interface Source {
  name: string;
  /** Lower is better: the resolver answers once no better-ranked source is pending. */
  priority: number;
  /** Run only when every other source found nothing (live guessing). */
  fallback?: boolean;
  /** Answers from memory without touching the network: runs before the network sources start. */
  local?: boolean;
  /**
   * Head start given to the better-ranked sources: the source starts this long after the network
   * sources, or as soon as no better-ranked source is still pending, and never once the answer is
   * decided (so a domain whose own autoconfig answers quickly costs no work here).
   */
  deferMs?: number;
  /**
   * When a better-ranked source answers first, this source is not aborted at once: it may still end
   * within this many ms, and its result then serves only to cross-check the answer (warnings such as
   * `sources_disagree`), never merged into it. The MX step uses this to notice a stale autoconfig.
   */
  crossCheckMs?: number;
  /**
   * Contributes only `alternatives` (e.g. JMAP), never servers: it is not ranked, never holds the
   * answer back, and gets a short grace once the ranked sources have settled.
   */
  companion?: boolean;
  lookup(context: SourceContext): Promise<SourceResult>;
}

/** A source's result with its timing, as the resolver reports it. */
export interface SettledSource {
  source: Source;
  result: SourceResult;
  report: SourceReport;
  /** Ended after the answer was decided (a `crossCheckMs` source): used for warnings only, not merged. */
  crossCheckOnly?: boolean;
}
