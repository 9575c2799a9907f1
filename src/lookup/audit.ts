import { setMaxListeners } from 'node:events';
import { documentServerFields } from '../formats/candidate.js';
import type { AuditMethod, AuditMethodServer, AuditResult, AuditServer } from '../api/audit.js';
import type { LookupSubject } from '../api/input.js';
import type { Check } from '../api/schemas.js';
import { CoalescingCache, type Clock } from '../cache/coalescing-cache.js';
import { portSecurityConflict } from '../formats/port-security.js';
import type { Log } from '../logging/log.js';
import type { WindowCounter } from '../probes/budgets.js';
import { budgetedCheck } from '../probes/budgeted-check.js';
import { refusal } from '../probes/live-checker.js';
import type { ServerChecker } from '../probes/types.js';
import type { Source, SourceContext, SourceResult } from '../sources/types.js';
import { auditFindings, compareMethods, serverId, TRANSPORT_ERRORS } from './audit-findings.js';

/** Most distinct servers one audit checks live (best-ranked first); the rest get a `busy` check without a connection. */
export const MAX_CHECKS_PER_AUDIT = 16;

/** What the audit use case needs. */
export interface AuditServiceDeps {
  /** Every source a lookup consults (the resolver's list); each is run to its end here. */
  sources: readonly Source[];
  checker: ServerChecker;
  /** Live checks per client (CHECK_RATE_LIMIT_MAX per window), shared with /v1/check and lookup?check=true. */
  clientChecks: WindowCounter;
  log: Log;
  /** Deadline of the sources' part of one audit (LOOKUP_TIMEOUT_MS). */
  deadlineMs: number;
  /** How long an audit is reused (CHECK_CACHE_TTL_S, as check results); 0 disables the cache. */
  cacheTtlS: number;
  /** Audits running at once, service-wide (AUDIT_CONCURRENCY). */
  maxConcurrent: number;
  /** Audits one client may have running at once (AUDIT_PER_CLIENT_MAX). */
  maxPerClient: number;
  clock?: Clock;
}

/** What asking for an audit ended with: the audit, or a refusal by a limit (or the caller left). */
export type AuditOutcome =
  | { ok: true; audit: AuditResult }
  | { ok: false; code: 'busy' | 'rate_limited' | 'cancelled'; message: string; retryAfterMs: number };

/** A source's result with its timing, and whether it answered only when asked with an address. */
interface MethodRun {
  source: Source;
  result: SourceResult;
  ms: number;
  needsAddress?: boolean;
}

const round = (ms: number) => Math.round(ms * 10) / 10;
const yieldsIncoming = (run: MethodRun) =>
  (run.result.outcome === 'found' || run.result.outcome === 'partial') && run.result.servers.some((server) => server.protocol !== 'smtp');

/**
 * The audit of a domain for support desks and ISP staff: every source run to its end under one
 * deadline (never stopping at the first answer, unlike the resolver), every distinct server
 * checked live, and per method what it says and whether it agrees with the others, with findings.
 * Security: an audit fans out into every source's requests plus live checks, so it is bounded
 * service-wide and per client, each live check takes one from the client's live-check budget, and
 * results are cached like check results (CHECK_CACHE_TTL_S).
 */
export class AuditService {
  readonly #deps: AuditServiceDeps;
  readonly #cache: CoalescingCache<AuditResult>;
  readonly #byClient = new Map<string, number>();
  #running = 0;

  constructor(deps: AuditServiceDeps) {
    this.#deps = deps;
    this.#cache = new CoalescingCache<AuditResult>({
      maxEntries: 1_000,
      maxBytes: 16 * 1024 ** 2,
      sizeOf: (audit) => JSON.stringify(audit).length * 2,
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
  }

  /**
   * Audits `domain` (lower-case ASCII, already validated), or answers from the cache. `client`
   * (clientKey of the requester) is charged the live checks of an audit it starts. Concurrent
   * requests for one domain share one run; each still holds one of its client's audit slots while
   * it waits (simple, and never under-counts).
   */
  async audit(domain: string, options: { client: string; signal?: AbortSignal; fresh?: boolean }): Promise<AuditOutcome> {
    if (!options.fresh) {
      const hit = this.#cache.peek(domain);
      if (hit) return { ok: true, audit: { ...hit, cached: true } };
    }
    const refused = this.#acquire(options.client);
    if (refused) return refused;
    try {
      const { value, cached } = await this.#cache.get(domain, (signal) => this.#run(domain, options.client, options.fresh ?? false, signal), {
        ...(options.signal ? { signal: options.signal } : {}),
        fresh: options.fresh ?? false,
      });
      return { ok: true, audit: { ...value, cached } };
    } catch {
      // Only a caller that left gets here (the run itself never throws).
      return { ok: false, code: 'cancelled', message: 'the audit was cancelled', retryAfterMs: 0 };
    } finally {
      this.#release(options.client);
    }
  }

  #acquire(client: string): Extract<AuditOutcome, { ok: false }> | null {
    const mine = this.#byClient.get(client) ?? 0;
    const retryAfterMs = this.#deps.deadlineMs;
    if (mine >= this.#deps.maxPerClient) {
      return { ok: false, code: 'rate_limited', message: `this client already has ${mine} audit(s) running; try again when one has finished`, retryAfterMs };
    }
    if (this.#running >= this.#deps.maxConcurrent) {
      return { ok: false, code: 'busy', message: 'too many audits are running right now; please try again in a moment', retryAfterMs };
    }
    this.#running += 1;
    this.#byClient.set(client, mine + 1);
    return null;
  }

  #release(client: string): void {
    this.#running -= 1;
    const left = (this.#byClient.get(client) ?? 1) - 1;
    if (left > 0) this.#byClient.set(client, left);
    else this.#byClient.delete(client);
  }

  /** One uncached audit: every method, then every distinct server checked, then the comparison and findings. */
  async #run(domain: string, client: string, fresh: boolean, signal: AbortSignal): Promise<{ value: AuditResult; ttlMs: number }> {
    const started = performance.now();
    const runs = await this.#runMethods({ domain, email: null, localPart: null }, signal);
    const methods = runs.map(toAuditMethod);
    const servers = await this.#checkServers(methods, client, fresh, signal);
    compareMethods(methods, servers);
    const findings = auditFindings({ domain, methods, servers, needsAddress: runs.filter((run) => run.needsAddress).map((run) => run.source.name) });
    const count = (severity: string) => findings.filter((entry) => entry.severity === severity).length;
    const audit: AuditResult = {
      domain,
      ok: count('error') === 0,
      summary: { errors: count('error'), warnings: count('warning'), notes: count('info') },
      findings,
      methods,
      servers,
      checkedAt: new Date().toISOString(),
      ms: round(performance.now() - started),
      cached: false,
    };
    // Refused checks are not kept (a budget or slot may free up), nor a run every caller left.
    const refused = servers.some((server) => server.check.error?.code === 'rate_limited' || server.check.error?.code === 'busy');
    const ttlMs = refused || signal.aborted ? 0 : this.#deps.cacheTtlS * 1000;
    this.#deps.log.debug({ domain, ms: audit.ms, findings: findings.length }, 'audit finished');
    return { value: audit, ttlMs };
  }

  /**
   * Runs every source to its end under one deadline, all at once (no ranking, no head start, no
   * early stop); guessing, which probes mail ports, only when no other method names an incoming
   * server. The sources get no shared TLS outcomes: the plain-HTTP autoconfig is reported for what
   * it says even when HTTPS failed (its downgrade guard protects answers; an audit is not one).
   */
  async #runMethods(subject: LookupSubject, external: AbortSignal): Promise<MethodRun[]> {
    // A referenced timer (AbortSignal.timeout is unref'd), cleared when the methods have ended.
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(new Error('audit deadline')), this.#deps.deadlineMs);
    const signal = AbortSignal.any([timer.signal, external]);
    // Every source, and every fetch a source fans out into, listens to this signal.
    setMaxListeners(256, signal);
    try {
      const context: SourceContext = { subject, signal, log: this.#deps.log };
      const primary = this.#deps.sources.filter((source) => !source.fallback);
      const fallback = this.#deps.sources.filter((source) => source.fallback);
      const runs = await Promise.all(primary.map((source) => this.#runMethod(source, context)));
      const published = runs.some(yieldsIncoming);
      const skipped = (source: Source, detail: string): MethodRun => ({ source, ms: 0, result: { outcome: 'skipped', detail } });
      const fallbackRuns = await Promise.all(
        fallback.map((source) => {
          if (published) return skipped(source, 'only run when no other method names an incoming server');
          if (signal.aborted) return skipped(source, 'the audit deadline passed first');
          return this.#runMethod(source, context);
        }),
      );
      return [...runs, ...fallbackRuns].sort((a, b) => a.source.priority - b.source.priority);
    } finally {
      clearTimeout(timeout);
    }
  }

  /**
   * One method to its end (or the deadline). The ISP's own autoconfig host is asked again with
   * `?emailaddress=postmaster@<domain>` (RFC 5321 §4.5.1: every mail domain has that address; no
   * user's address is ever sent) when it found nothing without one, to notice a host that requires it.
   */
  async #runMethod(source: Source, context: SourceContext): Promise<MethodRun> {
    const started = performance.now();
    let result = await settle(source, context, this.#deps.deadlineMs);
    let needsAddress = false;
    if (source.name === 'autoconfig' && hostAnswered(result) && !context.signal.aborted) {
      const domain = context.subject.domain;
      const subject = { domain, email: `postmaster@${domain}`, localPart: 'postmaster' };
      const retried = await settle(source, { ...context, subject }, this.#deps.deadlineMs);
      if (retried.outcome === 'found' || retried.outcome === 'partial') {
        needsAddress = true;
        result = { ...retried, detail: [retried.detail, `answered only with ?emailaddress= (without it: ${result.detail ?? result.outcome})`].filter(Boolean).join('; ') };
      }
    }
    return { source, result, ms: performance.now() - started, needsAddress };
  }

  /** Checks every distinct server the methods name (incoming first, best method first), each charged to the client. */
  async #checkServers(methods: readonly AuditMethod[], client: string, fresh: boolean, signal: AbortSignal): Promise<AuditServer[]> {
    const byId = new Map<string, Omit<AuditServer, 'check'>>();
    for (const method of methods) {
      for (const server of method.servers) {
        // Reported as port_security_mismatch, never connected to in a mode no client would use.
        if (portSecurityConflict(server)) continue;
        const entry = byId.get(server.id) ?? { id: server.id, protocol: server.protocol, host: server.host, port: server.port, security: server.security, methods: [] };
        if (!entry.methods.includes(method.name)) entry.methods.push(method.name);
        byId.set(server.id, entry);
      }
    }
    const ordered = [...byId.values()].sort((a, b) => Number(a.protocol === 'smtp') - Number(b.protocol === 'smtp'));
    const { checker, clientChecks } = this.#deps;
    // Started in order and synchronously up to budgetedCheck's budget take: when the client's budget
    // runs out, the best-ranked servers were the ones checked.
    return Promise.all(
      ordered.map(async (server, index): Promise<AuditServer> => {
        const check: Check =
          index >= MAX_CHECKS_PER_AUDIT
            ? refusal(server, 'busy', `only the first ${MAX_CHECKS_PER_AUDIT} distinct servers of an audit are checked`)
            : await budgetedCheck(server, { checker, clientChecks, client, signal, fresh });
        return { ...server, check };
      }),
    );
  }
}

/**
 * Whether an autoconfig fetch reached the host and got an answer that was no usable document: an
 * HTTP error status (fetchFailure reports a 404 or 410 as `not-found` with the detail `HTTP 404`),
 * a document with no usable server, or an unreadable one.
 */
function hostAnswered(result: SourceResult): boolean {
  if (result.outcome === 'error') return result.error === 'http_error' || !TRANSPORT_ERRORS.has(result.error);
  return result.outcome === 'not-found' && /^(HTTP \d{3}$|the document lists no usable server)/.test(result.detail ?? '');
}

/**
 * A source's result, or `timeout` once the signal fires (a source that ignores its signal never
 * holds the audit past its deadline), or `error` for a source that threw (a bug: one broken source
 * never sinks an audit).
 */
async function settle(source: Source, context: SourceContext, deadlineMs: number): Promise<SourceResult> {
  const { signal } = context;
  let onAbort = () => {};
  const aborted = new Promise<SourceResult>((resolve) => {
    onAbort = () => resolve({ outcome: 'timeout', detail: `no answer within the ${deadlineMs} ms audit deadline` });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  const ran = source.lookup(context).catch((error: unknown): SourceResult => {
    context.log.error({ err: error, source: source.name }, 'source threw during an audit');
    return { outcome: 'error', error: 'internal_error', detail: 'the source failed unexpectedly' };
  });
  try {
    return await Promise.race([ran, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** A method as the audit reports it (agreement filled in later by compareMethods). */
function toAuditMethod(run: MethodRun): AuditMethod {
  const { result } = run;
  const servers: AuditMethodServer[] =
    result.outcome === 'found' || result.outcome === 'partial'
      ? result.servers.map((server) => ({ id: serverId(server), ...documentServerFields(server), trusted: server.trusted }))
      : [];
  return {
    name: run.source.name,
    outcome: result.outcome,
    ms: round(run.ms),
    ...(result.url !== undefined ? { url: result.url } : {}),
    ...(result.detail !== undefined ? { detail: result.detail } : {}),
    ...((result.outcome === 'error' || result.outcome === 'blocked') && result.error !== undefined ? { error: result.error } : {}),
    servers,
    alternatives: (result.alternatives ?? []).map((alternative) => ({ ...alternative })),
    agreement: 'n/a',
    agreesWith: [],
    disagreesWith: [],
  };
}
