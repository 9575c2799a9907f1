import type { Log as Logger } from '../logging/log.js';
import type { CoalescingCache } from '../cache/coalescing-cache.js';
import type { Config } from '../config/env.js';
import { renderUsername, type LookupSubject } from '../api/input.js';
import type { Alternative, LookupResult, Server } from '../api/schemas.js';
import type { Discovery, Resolver } from '../resolver/resolver.js';
import type { CandidateAlternative, CandidateServer } from '../sources/types.js';
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
  | { found: false; sources: LookupResult['sources']; alternatives: LookupResult['alternatives'] };

/** Dependencies of the lookup service. */
export interface LookupServiceDeps {
  resolver: Resolver;
  cache: CoalescingCache<Discovery>;
  config: Config;
  log: Logger;
  /** True when a memory-only source (the provider database) answers the domain: no discovery goes out. */
  answersOffline?: (domain: string) => boolean;
  /** Fleet-wide discoveries (REDIS_URL set): looked up behind the local cache on a miss. */
  shared?: SharedDiscoveries;
  /** Metrics callbacks: a lookup answered from this replica's memory reports `local`. */
  events?: StoreEvents;
}

/** Room for the looked-up domain in a rendered answer (a DNS name has at most 253 characters), in characters. */
const RENDERED_DOMAIN_ROOM = 256;

/**
 * Estimated bytes a cached discovery keeps alive (for the cache's byte bound): the discovery's own
 * objects (about two bytes per character of their JSON), and, for a found one, the domain-only
 * answer rendered from it once (LookupService.cached: objects as large again) with its JSON
 * memoised by the route (one byte per character). Security: counting only the discovery let one
 * cached answer of 2,150 servers hold about three times the bytes the bound was told.
 */
export function discoverySize(discovery: Discovery): number {
  const stored = JSON.stringify(discovery).length * 2;
  if (!discovery.found) return stored;
  const rendered = JSON.stringify(toLookupResult(discovery, { domain: '', email: null, localPart: null }, true)).length + RENDERED_DOMAIN_ROOM;
  return stored + rendered * 3;
}

/** Cache lifetime: DNS TTLs where known (capped at a day and CACHE_TTL_S), failures shorter. */
export function discoveryTtlMs(discovery: Discovery, config: Config): number {
  if (!discovery.found) {
    // An uncertain "nothing" (a source failed or timed out) is retried sooner than a clean one.
    const seconds = discovery.degraded ? Math.min(config.CACHE_NEGATIVE_TTL_S, 30) : config.CACHE_NEGATIVE_TTL_S;
    return seconds * 1000;
  }
  const capped = Math.min(discovery.ttlS ?? config.CACHE_TTL_S, config.CACHE_TTL_S, 86_400);
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
function notFound(discovery: Discovery): LookupOutcome {
  return { found: false, sources: discovery.sources, alternatives: discovery.alternatives.map(toAlternative) };
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
   * `client` (clientKey of the requester) is charged for the discovery only if this call starts
   * one: callers joining a discovery already under way share it and are never counted again.
   */
  async lookup(subject: LookupSubject, options: { signal?: AbortSignal; fresh?: boolean; client?: string } = {}): Promise<LookupOutcome> {
    const discover = async (signal: AbortSignal) => {
      const discovery = await this.deps.resolver.resolve({
        subject,
        signal,
        deadlineMs: this.deps.config.LOOKUP_TIMEOUT_MS,
        log: this.deps.log,
        client: options.client,
      });
      return { value: discovery, ttlMs: discoveryTtlMs(discovery, this.deps.config) };
    };
    // One report per computation (callers joining it share it); the shared layer reports its own.
    const shared = this.deps.shared;
    const compute = shared
      ? (signal: AbortSignal) => shared.get(subject.domain, discover, signal, options.fresh)
      : (signal: AbortSignal) => (this.deps.events?.onCacheLayer?.('miss'), discover(signal));
    const { value, cached } = await this.deps.cache.get(subject.domain, compute, options);
    if (cached) this.deps.events?.onCacheLayer?.('local');
    if (!value.found) return notFound(value);
    return { found: true, result: toLookupResult(value, subject, cached || (shared?.fromStore(value) ?? false)) };
  }

  /** Domain-only answers per cached discovery: the same for every caller, so built once. */
  readonly #domainAnswers = new WeakMap<Discovery, LookupOutcome>();

  /**
   * The answer straight from the cache, or undefined on a miss (the hot path: no promises, no
   * signals). A domain-only answer is the same object for every hit on one discovery, so callers
   * must not change it (the route's serializer memoises its JSON by identity).
   */
  cached(subject: LookupSubject): LookupOutcome | undefined {
    const value = this.deps.cache.peek(subject.domain);
    if (value === undefined) return undefined;
    if (!value.found) return notFound(value);
    // Counted for found answers only: the route asks again for a cached not-found answer.
    this.deps.events?.onCacheLayer?.('local');
    if (subject.email !== null) return { found: true, result: toLookupResult(value, subject, true) };
    let outcome = this.#domainAnswers.get(value);
    if (!outcome) {
      outcome = { found: true, result: toLookupResult(value, subject, true) };
      this.#domainAnswers.set(value, outcome);
    }
    return outcome;
  }

  /** Whether a lookup of this domain is answered from memory (the provider database): nothing goes out. */
  answersOffline(domain: string): boolean {
    return this.deps.answersOffline?.(domain) ?? false;
  }

  /** Whether a fresh lookup for this domain would be answered from the cache (no discovery). */
  isCached(domain: string): boolean {
    return this.deps.cache.peek(domain) !== undefined;
  }
}
