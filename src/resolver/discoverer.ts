import { BusyError, RateLimitedError } from '../api/errors.js';
import type { Log as Logger } from '../logging/log.js';
import { NO_METRICS, type Metrics } from '../logging/metrics.js';
import type { LookupSubject } from '../api/input.js';
import type { Instruction, SourceReport, Warning } from '../api/schemas.js';
import type { Provider } from '../provider-db/schema.js';
import type { CandidateAlternative, CandidateServer, SettledSource, Source, SourceResult } from '../sources/types.js';
import { capPerProtocol, droppedServersNote } from '../formats/document-limits.js';
import { portSecurityConflict } from '../formats/port-security.js';
import { TlsOutcomes } from '../sources/tls-outcomes.js';
import { rankServers } from '../formats/rank.js';
import { runGroup, skipped, type GroupRunOptions } from './group-run.js';
import { answerWarnings } from './warnings.js';

/** The domain-level answer of one discovery run (usernames are still templates). */
export interface Discovery {
  found: boolean;
  provider: Provider | null;
  incoming: CandidateServer[];
  outgoing: CandidateServer[];
  /** Non-IMAP/POP3/SMTP access methods (JMAP, Exchange) any source saw. */
  alternatives: CandidateAlternative[];
  /** `<enable>`/`<documentation>` entries of the best-ranked answering source that has any. */
  instructions: Instruction[];
  /** What a person should know about the answer (conflicts between sources, weak answers). */
  warnings: Warning[];
  sources: SourceReport[];
  /** Smallest TTL any contributing source asked for, if any did. */
  ttlS: number | undefined;
  /** True when some source failed or timed out, so a negative answer is less certain. */
  degraded: boolean;
}

/** Options of one discovery run. */
export interface ResolveOptions {
  subject: LookupSubject;
  /** Aborts everything (client gone, shutdown). */
  signal?: AbortSignal;
  deadlineMs: number;
  log: Logger;
  /** Who started the discovery (clientKey of the requester); counted against `maxPerClient`. */
  client?: string;
}

/** Options of the discoverer. */
export interface DiscovererOptions {
  /** Discoveries running at once, service-wide (DISCOVERY_CONCURRENCY); more are refused as `busy`. */
  maxConcurrent?: number;
  /** Discoveries one client may have running at once (DISCOVERY_PER_CLIENT_MAX); more are refused as `rate_limited`. */
  maxPerClient?: number;
  /** How long companion sources (alternatives only) may still run once the answer is decided. */
  companionGraceMs?: number;
  /** Where each settled source's outcome and time are reported. */
  metrics?: Metrics;
}

/** Default grace of companion sources: small against a lookup, enough for a fetch already under way. */
export const COMPANION_GRACE_MS = 100;

const now = () => performance.now();

/**
 * Runs every source in parallel under one deadline and ranks the results (ranked, not raced):
 * the answer goes out as soon as no better-ranked source is still pending, and the pending
 * lower-ranked ones are aborted. Fallback sources (guessing) run only when nothing else found anything.
 */
export class Discoverer {
  readonly #sources: Source[];
  readonly #maxConcurrent: number;
  readonly #companionGraceMs: number;
  readonly #maxPerClient: number;
  readonly #metrics: Metrics;
  /** Start times and deadlines of the discoveries each client has running (never more than maxPerClient). */
  readonly #byClient = new Map<string, number[]>();
  #running = 0;

  constructor(sources: Source[], options: DiscovererOptions = {}) {
    this.#sources = [...sources].sort((a, b) => a.priority - b.priority);
    this.#maxConcurrent = options.maxConcurrent ?? Infinity;
    this.#companionGraceMs = options.companionGraceMs ?? COMPANION_GRACE_MS;
    this.#maxPerClient = options.maxPerClient ?? Infinity;
    this.#metrics = options.metrics ?? NO_METRICS;
  }

  get sources(): readonly Source[] {
    return this.#sources;
  }

  /** Discoveries running now. */
  get running(): number {
    return this.#running;
  }

  /** Discoveries a client has running now. */
  runningFor(client: string): number {
    return this.#byClient.get(client)?.length ?? 0;
  }

  /**
   * Runs one discovery. Security: one discovery fans out into many outbound requests, so at most
   * `maxConcurrent` run at once; beyond that the call is refused at once with BusyError
   * (never queued, never cached), while callers sharing a running discovery are not counted twice.
   * One client may hold at most `maxPerClient` of those slots: a client that names domains whose
   * DNS never answers holds each slot for a whole DNS timeout, and without this share a handful of
   * addresses, each inside its rate limit, would turn every other client's new lookup into `busy`.
   * Beyond its share the client alone is refused, with `rate_limited` (429: it is its own doing)
   * and a Retry-After of when its oldest discovery ends at the latest.
   */
  async resolve(options: ResolveOptions): Promise<Discovery> {
    const client = options.client;
    const mine = client === undefined ? undefined : this.#byClient.get(client);
    if (mine && mine.length >= this.#maxPerClient) {
      throw new RateLimitedError(
        `this client already has ${mine.length} new lookups being worked out; try again when one has finished`,
        Math.min(...mine) - now(),
      );
    }
    if (this.#running >= this.#maxConcurrent) {
      throw new BusyError('too many lookups are being worked out right now; please try again in a moment', 1000);
    }
    // When this discovery ends at the latest (its deadline, plus the companions' grace).
    const endsBy = now() + options.deadlineMs + this.#companionGraceMs;
    if (client !== undefined) {
      if (mine) mine.push(endsBy);
      else this.#byClient.set(client, [endsBy]);
    }
    this.#running += 1;
    try {
      return await this.#resolve(options);
    } finally {
      this.#running -= 1;
      if (client !== undefined) this.#release(client, endsBy);
    }
  }

  #release(client: string, endsBy: number): void {
    const list = this.#byClient.get(client);
    if (!list) return;
    const index = list.indexOf(endsBy);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) this.#byClient.delete(client);
  }

  async #resolve(options: ResolveOptions): Promise<Discovery> {
    const started = now();
    // A referenced timer (AbortSignal.timeout is unref'd: a discovery whose sources hold no other
    // handle would otherwise never reach its deadline), cleared when the discovery ends.
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(new Error('lookup deadline')), options.deadlineMs);
    const deadline = timer.signal;
    try {
      const primary = this.#sources.filter((source) => !source.fallback);
      const fallback = this.#sources.filter((source) => source.fallback);

      // One per discovery: what its HTTPS fetches learnt about TLS (e.g. the plain-HTTP autoconfig
      // fallback is refused after a certificate failure on the same host).
      const tls = new TlsOutcomes();
      const run = (group: Source[]): GroupRunOptions => ({
        group,
        subject: options.subject,
        log: options.log,
        signal: options.signal,
        deadline,
        deadlineMs: options.deadlineMs,
        tls,
        companionGraceMs: this.#companionGraceMs,
      });
      let settled = await runGroup(run(primary));
      // Guessing runs when no incoming server came out (a `found` answer whose servers all broke the
      // port/security invariant counts as nothing).
      if (!yieldsIncoming(settled) && fallback.length > 0) {
        if (deadline.aborted || options.signal?.aborted) {
          const why = deadline.aborted ? 'the lookup deadline passed first' : 'the lookup was cancelled';
          settled = settled.concat(fallback.map((source) => skipped(source, why)));
        } else {
          settled = settled.concat(await runGroup(run(fallback)));
        }
      } else {
        settled = settled.concat(fallback.map((source) => skipped(source, 'only used when no other source finds settings')));
      }
      options.log.debug({ ms: Math.round(now() - started) }, 'discovery finished');
      for (const entry of settled) this.#metrics.onSource(entry.report.name, entry.report.outcome, entry.report.ms);
      return merge(settled, this.#sources);
    } finally {
      clearTimeout(timeout);
    }
  }
}

/** Results that may be merged into the answer: found or partial, and not kept only to cross-check it. */
function mergeable(entry: SettledSource): entry is SettledSource & { result: Extract<SourceResult, { outcome: 'found' | 'partial' }> } {
  return !entry.crossCheckOnly && (entry.result.outcome === 'found' || entry.result.outcome === 'partial');
}

/** Whether merging would give an incoming server (the same rule as `merge`'s `found`, without building the answer). */
function yieldsIncoming(settled: readonly SettledSource[]): boolean {
  return settled.some((entry) => mergeable(entry) && entry.result.servers.some((server) => server.protocol !== 'smtp' && !portSecurityConflict(server)));
}

/** Servers of `partial` sources rank below those of every `found` source, in their own rank order. */
const PARTIAL_RANK_OFFSET = 1000;

/**
 * Merges the results: servers of `found` and `partial` sources, checked against the port/security
 * invariant (a server that breaks it is dropped and the drop noted in its source's report),
 * deduplicated and ranked; alternatives from every source in rank order; provider from the best
 * source that names one; instructions from the best source that has any (never mixed: two documents'
 * texts could contradict each other). Only an incoming server makes a discovery `found`.
 * Bounded work: at most MAX_SERVERS_PER_PROTOCOL servers per protocol are taken from each source
 * and kept in the answer (the best-ranked ones); what was cut is noted in its source's report.
 * Security: the answer is cached and rendered on every hit, so its size must not follow a document's.
 */
export function merge(settled: SettledSource[], order: readonly Source[]): Discovery {
  const answered = settled.filter(mergeable).sort((a, b) => a.source.priority - b.source.priority);
  const candidates: { server: CandidateServer; priority: number; entry: SettledSource }[] = [];
  const reports = new Map(settled.map((entry) => [entry.source, { ...entry.report }]));
  let provider: Provider | null = null;
  let ttlS: number | undefined;
  for (const entry of answered) {
    if (!provider && entry.result.provider) provider = entry.result.provider;
    if (entry.result.ttlS !== undefined) ttlS = Math.min(ttlS ?? Infinity, entry.result.ttlS);
    const priority = entry.source.priority + (entry.result.outcome === 'partial' ? PARTIAL_RANK_OFFSET : 0);
    const conflicts: string[] = [];
    const usable = entry.result.servers.filter((server) => {
      const conflict = portSecurityConflict(server);
      if (conflict) conflicts.push(`${server.host}:${server.port} dropped (${conflict})`);
      return !conflict;
    });
    // Per source, in the source's own order (a reader's document order).
    const perSource = capPerProtocol(usable);
    for (const server of perSource.kept) candidates.push({ server, priority, entry });
    const cut = droppedServersNote(perSource.dropped);
    if (cut) conflicts.push(cut);
    const report = reports.get(entry.source);
    if (report && conflicts.length > 0) report.detail = [report.detail, ...conflicts].filter(Boolean).join('; ');
  }
  const ranked = rankServers(candidates);
  // Per answer, in rank order: a server cut here is noted in the report of the source that gave it.
  const incoming = capPerProtocol(ranked.incoming);
  const outgoing = capPerProtocol(ranked.outgoing);
  const cutBySource = new Map<SettledSource, CandidateServer[]>();
  for (const server of [...incoming.dropped, ...outgoing.dropped]) {
    const from = ranked.origin.get(server);
    if (from) cutBySource.set(from, [...(cutBySource.get(from) ?? []), server]);
  }
  for (const [from, servers] of cutBySource) {
    const report = reports.get(from.source);
    const note = droppedServersNote(servers)?.replace('per protocol dropped', 'per protocol of the answer dropped');
    if (report && note) report.detail = [report.detail, note].filter(Boolean).join('; ');
  }
  const position = new Map(order.map((source, index) => [source, index]));
  return {
    found: incoming.kept.length > 0,
    provider,
    incoming: incoming.kept,
    outgoing: outgoing.kept,
    alternatives: mergeAlternatives(settled),
    instructions: bestInstructions(answered),
    warnings: answerWarnings(settled, ranked.incoming, ranked.outgoing),
    sources: [...settled]
      .sort((a, b) => (position.get(a.source) ?? 0) - (position.get(b.source) ?? 0))
      .map((entry) => reports.get(entry.source) ?? entry.report),
    ttlS,
    degraded: settled.some((entry) => entry.result.outcome === 'error' || entry.result.outcome === 'timeout'),
  };
}

/** The instructions of the best-ranked answering source that has any, copied (the answer is cached). */
function bestInstructions(answered: readonly SettledSource[]): Instruction[] {
  for (const entry of answered) {
    const result = entry.result;
    if ((result.outcome === 'found' || result.outcome === 'partial') && result.instructions?.length) {
      return result.instructions.map((instruction) => ({ ...instruction, texts: instruction.texts.map((text) => ({ ...text })) }));
    }
  }
  return [];
}

/** Alternatives of every source, best-ranked first, one per kind and URL (trusted if any source was). */
function mergeAlternatives(settled: SettledSource[]): CandidateAlternative[] {
  const byKey = new Map<string, CandidateAlternative>();
  for (const entry of [...settled].sort((a, b) => a.source.priority - b.source.priority)) {
    for (const alternative of entry.result.alternatives ?? []) {
      const key = `${alternative.kind}|${alternative.url}`;
      const existing = byKey.get(key);
      if (!existing) byKey.set(key, { ...alternative });
      else if (alternative.trusted && !existing.trusted) byKey.set(key, { ...alternative });
    }
  }
  return [...byKey.values()];
}
