import { setMaxListeners } from 'node:events';
import type { LookupSubject } from '../api/input.js';
import type { SourceReport } from '../api/schemas.js';
import type { Log } from '../logging/log.js';
import { bestIsFinal } from '../sources/ranked-runner.js';
import type { TlsOutcomes } from '../sources/tls-outcomes.js';
import type { SettledSource, Source, SourceContext, SourceResult } from '../sources/types.js';

/** What one run of a group of sources needs. */
export interface GroupRunOptions {
  /** The sources, best rank first. */
  group: readonly Source[];
  subject: LookupSubject;
  log: Log;
  /** Aborts everything (client gone, shutdown). */
  signal?: AbortSignal;
  /** Fires at the lookup deadline. */
  deadline: AbortSignal;
  deadlineMs: number;
  /** What this discovery's HTTPS fetches learnt about TLS, shared by its sources. */
  tls: TlsOutcomes;
  /** How long companion sources may still run once the answer is decided. */
  companionGraceMs: number;
}

const now = () => performance.now();

/**
 * Starts every source of the group; settles when the best found result can no longer be beaten
 * (bestIsFinal). Pending worse-ranked sources are aborted then; companion sources (alternatives only)
 * get up to `companionGraceMs` more and cross-checking ones their `crossCheckMs`, so a slow one never
 * holds the answer back by more than that. Local sources (memory only) run first: when one of them
 * answers better than any network source could, no outbound request is made.
 */
export function runGroup(options: GroupRunOptions): Promise<SettledSource[]> {
  if (options.group.length === 0) return Promise.resolve([]);
  return new Promise((resolve) => new GroupRun(options, resolve).begin());
}

/** The state of one group run: which sources started, ended, wait for their head start, or linger. */
class GroupRun {
  readonly #results = new Map<Source, SettledSource>();
  readonly #started = new Set<Source>();
  readonly #deferred = new Map<Source, NodeJS.Timeout>();
  readonly #rankedDone = new AbortController();
  readonly #allDone = new AbortController();
  /** Ranked sources listen to this one: it also fires once the answer is decided. */
  readonly #signal: AbortSignal;
  /** Lingering sources (companions, cross-checkers) listen to this one: it fires when the run ends. */
  readonly #lingerSignal: AbortSignal;
  readonly #ranked: Source[];
  /** Sources that may outlive the ranked decision: companions (alternatives) and cross-checkers (warnings). */
  readonly #lingering: Source[];
  readonly #remote: Source[];
  readonly #startedAt = now();
  #localPending: number;
  #rankedSettled = false;
  #finished = false;
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: GroupRunOptions,
    private readonly done: (settled: SettledSource[]) => void,
  ) {
    const external = [options.deadline, ...(options.signal ? [options.signal] : [])];
    this.#signal = AbortSignal.any([...external, this.#rankedDone.signal, this.#allDone.signal]);
    this.#lingerSignal = AbortSignal.any([...external, this.#allDone.signal]);
    // Every source, and every fetch or probe a source fans out into, listens to these signals.
    setMaxListeners(256, this.#signal, this.#lingerSignal);
    this.#ranked = options.group.filter((source) => !source.companion);
    this.#lingering = options.group.filter(lingers);
    this.#remote = options.group.filter((source) => !source.local);
    this.#localPending = options.group.length - this.#remote.length;
  }

  begin(): void {
    this.#lingerSignal.addEventListener('abort', this.#onAbort, { once: true });
    if (this.#lingerSignal.aborted) return this.#finish();
    if (this.#localPending > 0) this.#start(this.options.group.filter((source) => source.local));
    else this.#start(this.#remote, true);
  }

  readonly #onAbort = () => this.#finish();

  #pendingLingering(): Source[] {
    return this.#lingering.filter((source) => this.#started.has(source) && !this.#results.has(source));
  }

  /** Starts sources; with `deferring`, a source with a head start (`deferMs`) waits for it first. */
  #start(list: readonly Source[], deferring = false): void {
    for (const source of list) {
      if (deferring && source.deferMs !== undefined && source.deferMs > 0) {
        this.#deferred.set(source, setTimeout(() => !this.#rankedSettled && this.#start([source]), source.deferMs));
        continue;
      }
      this.#started.add(source);
      const startedAt = now();
      const context: SourceContext = { subject: this.options.subject, signal: lingers(source) ? this.#lingerSignal : this.#signal, log: this.options.log, tls: this.options.tls };
      void run(source, context).then((result) => this.#settle(source, result, now() - startedAt));
    }
  }

  #settle(source: Source, result: SourceResult, ms: number): void {
    // A ranked source that ends after the answer was decided was aborted: it is reported as skipped.
    if (this.#finished || (this.#rankedSettled && !lingers(source))) return;
    const entry: SettledSource = { source, result, report: report(source, result, ms) };
    if (this.#rankedSettled && !source.companion) {
      entry.crossCheckOnly = true;
      entry.report.detail = [entry.report.detail, 'ended after the answer was decided: used only to cross-check it'].filter(Boolean).join('; ');
    }
    this.#results.set(source, entry);
    if (source.local) {
      this.#localPending -= 1;
      if (this.#localPending > 0) return;
      this.#decide();
      if (!this.#rankedSettled) this.#start(this.#remote, true);
      return;
    }
    if (this.#localPending === 0) this.#decide();
  }

  #decide(): void {
    if (this.#rankedSettled) {
      if (this.#pendingLingering().length === 0) this.#finish();
      return;
    }
    const found = (entry: SettledSource) => entry.result.outcome === 'found';
    if (bestIsFinal(this.#ranked.map((source) => this.#results.get(source)), found)) return this.#settleRanked();
    // A deferred source starts now once the better-ranked sources it defers to (the undeferred
    // ones: deferred sources start side by side, not one after another) have all ended.
    for (const [source, timer] of this.#deferred) {
      if (this.#started.has(source)) continue;
      if (!this.#ranked.some((other) => !other.deferMs && other.priority < source.priority && !this.#results.has(other))) {
        clearTimeout(timer);
        this.#start([source]);
      }
    }
  }

  /**
   * The answer is decided. With an answer in hand a lingering source may delay the end by its grace
   * at most; with none (a 404 to come, or guessing), what a companion finds is all there is, so it
   * runs to its end.
   */
  #settleRanked(): void {
    this.#rankedSettled = true;
    this.#rankedDone.abort();
    for (const timer of this.#deferred.values()) clearTimeout(timer);
    const pending = this.#pendingLingering();
    if (pending.length === 0) return this.#finish();
    const answered = this.#ranked.some((source) => this.#results.get(source)?.result.outcome === 'found');
    const graceMs = Math.max(...pending.map((source) => source.crossCheckMs ?? this.options.companionGraceMs));
    if (answered) this.#graceTimer = setTimeout(() => this.#finish(), graceMs);
    else if (pending.every((source) => !source.companion)) this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#rankedSettled = true;
    clearTimeout(this.#graceTimer);
    for (const timer of this.#deferred.values()) clearTimeout(timer);
    this.#rankedDone.abort();
    this.#allDone.abort();
    this.#lingerSignal.removeEventListener('abort', this.#onAbort);
    this.done(this.options.group.map((source) => this.#results.get(source) ?? this.#unfinished(source)));
  }

  /** The report of a source that did not end before the run did, saying why. */
  #unfinished(source: Source): SettledSource {
    const { deadline, deadlineMs, signal, companionGraceMs } = this.options;
    const started = this.#started.has(source);
    const detail = deadline.aborted
      ? `no answer within the ${deadlineMs} ms lookup deadline`
      : signal?.aborted
        ? 'the lookup was cancelled'
        : source.companion && started
          ? `no answer within ${companionGraceMs} ms of the best source's answer`
          : source.crossCheckMs !== undefined && started
            ? `a better-ranked source answered, and no answer to cross-check it within ${source.crossCheckMs} ms`
            : this.#deferred.has(source) && !started
              ? `not started: a better-ranked source answered within its ${source.deferMs} ms head start`
              : 'a better-ranked source already answered';
    return skipped(source, detail, deadline.aborted ? 'timeout' : 'skipped', now() - this.#startedAt);
  }
}

/** Whether a source may outlive the ranked decision (a companion, or a cross-checker). */
function lingers(source: Source): boolean {
  return source.companion === true || source.crossCheckMs !== undefined;
}

/** Calls a source, turning a thrown bug into an `error` value so one broken source never sinks a lookup. */
async function run(source: Source, context: SourceContext): Promise<SourceResult> {
  try {
    return await source.lookup(context);
  } catch (error) {
    if (context.signal.aborted) return { outcome: 'timeout', detail: 'aborted' };
    context.log.error({ err: error, source: source.name }, 'source threw');
    return { outcome: 'error', error: 'internal_error', detail: 'the source failed unexpectedly' };
  }
}

function report(source: Source, result: SourceResult, ms: number): SourceReport {
  const entry: SourceReport = { name: source.name, outcome: result.outcome, ms: Math.round(ms * 10) / 10 };
  if (result.detail !== undefined) entry.detail = result.detail;
  if (result.url !== undefined) entry.url = result.url;
  if ((result.outcome === 'error' || result.outcome === 'blocked') && result.error !== undefined) entry.error = result.error;
  return entry;
}

/** A source that did not run (or not to its end), reported with why. */
export function skipped(source: Source, detail: string, outcome: 'skipped' | 'timeout' = 'skipped', ms = 0): SettledSource {
  const result: SourceResult = { outcome, detail };
  return { source, result, report: report(source, result, ms) };
}
