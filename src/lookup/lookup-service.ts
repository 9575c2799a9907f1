import type { Log as Logger } from '../logging/log.js';
import { NO_METRICS, type Metrics } from '../logging/metrics.js';
import type { CoalescingCache } from '../cache/coalescing-cache.js';
import { ApiError, BusyError } from '../api/errors.js';
import { renderUsername, type LookupSubject } from '../api/input.js';
import type { Alternative, LookupResult, Server } from '../api/schemas.js';
import type { Autoconfigure } from '../api/serve-schemas.js';
import type { Discovery, Discoverer } from '../resolver/discoverer.js';
import type { CandidateAlternative, CandidateServer } from '../sources/types.js';
import { checkAnswer, type AnswerChecks } from './check-answer.js';
import type { StoreEvents } from '../store/types.js';
import type { SharedDiscoveries } from './shared-discoveries.js';

/** Plain-language reason shown with the recommendation (the widget translates by `recommended`). */
export const WHY_IMAP =
  'IMAP keeps your mail on the server, so every device sees the same folders, read state and deletions. ' +
  'POP3 downloads mail to one device and leaves your other devices out of sync.';
export const WHY_POP3_ONLY =
  'This provider offers no IMAP server, so POP3 is the only way to receive mail: it downloads mail to one device, ' +
  'and other devices will not see what you read, file or delete there.';

/** Outcome of a lookup: settings, or nothing known. */
export type LookupOutcome =
  | { found: true; result: LookupResult }
  | { found: false; sources: LookupResult['sources']; alternatives: LookupResult['alternatives']; cached: boolean };

/** Dependencies of the lookup service. */
export interface LookupServiceDeps {
  discoverer: Discoverer;
  cache: CoalescingCache<Discovery>;
  /** The lookup deadline (LOOKUP_TIMEOUT_MS). */
  lookupTimeoutMs: number;
  /** How long answers are cached (CACHE_TTL_S, CACHE_NEGATIVE_TTL_S). */
  cacheTtl: CacheTtl;
  log: Logger;
  /** True when a memory-only source (the provider database) answers the domain: no discovery goes out. */
  answersOffline?: (domain: string) => boolean;
  /** The `autoconfigure` hint for a subject whose domain this service serves (SERVE_DOMAINS), else undefined. */
  autoconfigure?: (subject: LookupSubject) => Autoconfigure | undefined;
  /** Live checks of an answer's servers (lookup?check=true); without them such a lookup is refused. */
  checks?: AnswerChecks;
  /** Load shedding: true while the process is overloaded; new discoveries are then refused as `busy`. */
  underPressure?: () => boolean;
  metrics?: Metrics;
  /** Retry-After of a lookup refused under load, in seconds (SHED_RETRY_AFTER_S). */
  shedRetryAfterS?: number;
  /** Fleet-wide discoveries (REDIS_URL set): looked up behind the local cache on a miss. */
  shared?: SharedDiscoveries;
  /** Metrics callbacks: a lookup answered from this replica's memory reports `local`. */
  events?: StoreEvents;
}

/** How one lookup is asked for. */
export interface LookupOptions {
  /** Aborted when the client goes away: its share of the work stops. */
  signal?: AbortSignal;
  /** Skip the cached discovery (a running one is still shared). */
  fresh?: boolean;
  /** Also live-check every returned server (counted against the client's live-check budget). */
  check?: boolean;
  /** clientKey of the requester: charged for a discovery it starts, and for each live check. */
  client?: string;
}

/** Room for the looked-up domain in a rendered answer (a DNS name has at most 253 characters), in characters. */
const RENDERED_DOMAIN_ROOM = 256;

/**
 * Estimated bytes a cached discovery keeps alive (for the cache's byte bound): the discovery's own
 * objects (about two bytes per character of their JSON), and, for a found one, the domain-only
 * answer rendered from it once (LookupService.fromCache: objects as large again) with its JSON's
 * UTF-8 bytes memoised by the lookup fast lane (about one byte per character). Security: counting only the discovery let one
 * cached answer of 2,150 servers hold about three times the bytes the bound was told.
 */
export function discoverySize(discovery: Discovery): number {
  const stored = JSON.stringify(discovery).length * 2;
  if (!discovery.found) return stored;
  const rendered = JSON.stringify(toLookupResult(discovery, { domain: '', email: null, localPart: null }, true)).length + RENDERED_DOMAIN_ROOM;
  return stored + rendered * 3;
}

/** How long answers are cached, in seconds: found ones (at most), and those that found nothing. */
export interface CacheTtl {
  foundS: number;
  notFoundS: number;
}

/** Cache lifetime: DNS TTLs where known (capped at a day and `foundS`), failures shorter. */
export function discoveryTtlMs(discovery: Discovery, ttl: CacheTtl): number {
  if (!discovery.found) {
    // An uncertain "nothing" (a source failed or timed out) is retried sooner than a clean one.
    const seconds = discovery.degraded ? Math.min(ttl.notFoundS, 30) : ttl.notFoundS;
    return seconds * 1000;
  }
  const capped = Math.min(discovery.ttlS ?? ttl.foundS, ttl.foundS, 86_400);
  return Math.max(1, capped) * 1000;
}

function toServer(candidate: CandidateServer, subject: LookupSubject, recommended: boolean): Server {
  return {
    protocol: candidate.protocol,
    host: candidate.host,
    port: candidate.port,
    security: candidate.security,
    username: renderUsername(candidate.username, subject),
    authentication: [...candidate.authentication],
    recommended,
    source: candidate.source,
    trusted: candidate.trusted,
    ...(candidate.oauth2 ? { oauth2: { ...candidate.oauth2, scopes: [...candidate.oauth2.scopes] } } : {}),
  };
}

/** The first server is the recommended one, unless it is plaintext (never recommended). */
function render(list: CandidateServer[], subject: LookupSubject): Server[] {
  return list.map((server, index) => toServer(server, subject, index === 0 && server.security !== 'none'));
}

function toAlternative(candidate: CandidateAlternative): Alternative {
  return { kind: candidate.kind, url: candidate.url, source: candidate.source, trusted: candidate.trusted };
}

/** The answer of a discovery without any incoming server: the trace, and other access methods if any. */
function notFound(discovery: Discovery, cached: boolean): LookupOutcome {
  return { found: false, sources: discovery.sources, alternatives: discovery.alternatives.map(toAlternative), cached };
}

/** Turns a cached domain-level discovery into the API answer for this subject. */
export function toLookupResult(discovery: Discovery, subject: LookupSubject, cached: boolean): LookupResult {
  const incoming = render(discovery.incoming, subject);
  const hasImap = incoming.some((server) => server.protocol === 'imap');
  return {
    domain: subject.domain,
    email: subject.email,
    recommended: hasImap || incoming.length === 0 ? 'imap' : 'pop3',
    why: hasImap || incoming.length === 0 ? WHY_IMAP : WHY_POP3_ONLY,
    provider: discovery.provider
      ? {
          id: discovery.provider.id,
          name: discovery.provider.name,
          documentation: [...discovery.provider.documentation],
          hints: discovery.provider.hints.map((hint) => ({ ...hint })),
        }
      : null,
    incoming,
    outgoing: render(discovery.outgoing, subject),
    alternatives: discovery.alternatives.map(toAlternative),
    instructions: discovery.instructions.map((instruction) => ({ ...instruction, texts: instruction.texts.map((text) => ({ ...text })) })),
    warnings: discovery.warnings.map((warning) => ({ ...warning, sources: [...warning.sources] })),
    sources: discovery.sources.map((source) => ({ ...source })),
    cached,
  };
}

/** Finds settings for a subject: cache first, else one shared discovery for the domain. */
export class LookupService {
  constructor(private readonly deps: LookupServiceDeps) {}

  /**
   * `client` is charged for the discovery only if this call starts one: callers joining a discovery
   * already under way share it and are never counted again.
   */
  async lookup(subject: LookupSubject, options: LookupOptions = {}): Promise<LookupOutcome> {
    if (options.check && !this.deps.checks) throw new ApiError('invalid_input', 'live checks are not available on this server');
    const discover = async (signal: AbortSignal) => {
      this.#shedIfOverloaded(subject.domain);
      const discovery = await this.deps.discoverer.resolve({ subject, signal, deadlineMs: this.deps.lookupTimeoutMs, log: this.deps.log, client: options.client });
      return { value: discovery, ttlMs: discoveryTtlMs(discovery, this.deps.cacheTtl) };
    };
    // One report per computation (callers joining it share it); the shared layer reports its own.
    const shared = this.deps.shared;
    const compute = shared
      ? (signal: AbortSignal) => shared.get(subject.domain, discover, signal, options.fresh)
      : (signal: AbortSignal) => (this.deps.events?.onCacheLayer?.('miss'), discover(signal));
    const { value, cached } = await this.deps.cache.get(subject.domain, compute, options);
    if (cached) this.deps.events?.onCacheLayer?.('local');
    const fromStore = cached || (shared?.fromStore(value) ?? false);
    if (!value.found) return notFound(value, fromStore);
    const result = this.#withHint(toLookupResult(value, subject, fromStore), subject);
    if (options.check && this.deps.checks) {
      await checkAnswer(result, this.deps.checks, { client: options.client ?? '', signal: options.signal, fresh: options.fresh });
    }
    return { found: true, result };
  }

  /** Adds the `autoconfigure` hint of a served domain (per subject: the profile URL names the address). */
  #withHint(result: LookupResult, subject: LookupSubject): LookupResult {
    const hint = this.deps.autoconfigure?.(subject);
    if (hint) result.autoconfigure = hint;
    return result;
  }

  /**
   * Load shedding: a new discovery (many DNS and HTTPS requests, XML parsing) is refused with `busy`
   * and a Retry-After while the process is overloaded, so the cache hits and /health it can still
   * serve are not queued behind it. Joining a discovery under way, a cache hit and an answer from
   * the provider database (memory only) cost nearly nothing and are never refused; nor is it cached.
   */
  #shedIfOverloaded(domain: string): void {
    if (!this.deps.underPressure?.() || this.answersOffline(domain)) return;
    (this.deps.metrics ?? NO_METRICS).onShed('lookup');
    throw new BusyError('the service is overloaded right now; please try again shortly', (this.deps.shedRetryAfterS ?? 5) * 1000);
  }

  /** Domain-only answers per cached discovery: the same for every caller, so built once. */
  readonly #domainAnswers = new WeakMap<Discovery, LookupOutcome>();

  /**
   * The answer straight from the cache, or undefined on a miss (the hot path: no promises, no
   * signals). A domain-only answer is the same object for every hit on one discovery, so callers
   * must not change it (the route's serializer memoises its JSON by identity).
   */
  fromCache(subject: LookupSubject): LookupOutcome | undefined {
    const value = this.deps.cache.peek(subject.domain);
    if (value === undefined) return undefined;
    if (!value.found) return notFound(value, true);
    // Counted for found answers only: the route asks again for a cached not-found answer.
    this.deps.events?.onCacheLayer?.('local');
    if (subject.email !== null) return { found: true, result: this.#withHint(toLookupResult(value, subject, true), subject) };
    let outcome = this.#domainAnswers.get(value);
    if (!outcome) {
      outcome = { found: true, result: this.#withHint(toLookupResult(value, subject, true), subject) };
      this.#domainAnswers.set(value, outcome);
    }
    return outcome;
  }

  /** Whether a lookup of this domain is answered from memory (the provider database): nothing goes out. */
  answersOffline(domain: string): boolean {
    return this.deps.answersOffline?.(domain) ?? false;
  }

  /** Whether a lookup of this domain would be answered from the cache (no discovery). */
  isCached(domain: string): boolean {
    return this.deps.cache.peek(domain) !== undefined;
  }

  /** Whether a discovery of this domain is running now (a new lookup joins it: no new work). */
  isDiscovering(domain: string): boolean {
    return this.deps.cache.isComputing(domain);
  }
}

/**
 * The 200 body of an outcome, or the 404 `not_found` error. No incoming server means no answer (a
 * 200 always has incoming[0]); a domain that publishes only JMAP or Exchange gets its alternatives
 * in the 404, where an app that speaks them finds them.
 */
export function answerOf(outcome: LookupOutcome, domain: string): LookupResult {
  if (outcome.found) return outcome.result;
  const kinds = [...new Set(outcome.alternatives.map((item) => item.kind))];
  if (kinds.length === 0) throw new ApiError('not_found', `no mail settings are known for ${domain}`, { extra: { sources: outcome.sources } });
  throw new ApiError('not_found', `no IMAP or POP3 settings are known for ${domain}; it offers ${kinds.join(', ')} (see alternatives)`, {
    extra: { sources: outcome.sources, alternatives: outcome.alternatives },
  });
}
