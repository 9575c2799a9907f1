import net from 'node:net';
import type { Log } from '../logging/log.js';
import type { DnsAnswer, DnsResolver } from './dns.js';
import type { AddressPolicy } from './policy.js';

/** A host resolved and cleared by the address policy, or why not. */
export type TargetResolution =
  | { ok: true; addresses: string[]; ttlS: number | undefined; ms: number }
  | {
      ok: false;
      code: 'dns_failed' | 'forbidden_target';
      /** Security: never names a refused address or the rule that refused it (those go to debug logs). */
      message: string;
      /** For dns_failed: whether the name does not exist, or the resolver failed or timed out. */
      dnsKind?: 'not-found' | 'error' | 'timeout';
      ms: number;
    };

/**
 * Admits or refuses each connection attempt by the address the socket would use (an outbound
 * budget, see probes/budgets.ts); consulted after resolution and the address policy.
 */
export interface ConnectBudget {
  /** Counts one connection to `address`; false when that address's budget is used up (nothing is opened). A promise when the count is shared by a fleet. */
  take(address: string): boolean | Promise<boolean>;
}

/** An open TCP connection to a cleared address, or why there is none. */
export type ConnectResult =
  | { ok: true; socket: net.Socket; address: string; ms: { dns: number; connect: number } }
  | {
      ok: false;
      code: 'dns_failed' | 'forbidden_target' | 'connect_refused' | 'connect_timeout' | 'timeout' | 'rate_limited';
      message: string;
      /** The cleared address a connection was tried to; null when none was (never a refused address). */
      address: string | null;
      ms: { dns: number; connect: number };
    };

const elapsed = (since: number) => Math.round((performance.now() - since) * 10) / 10;

/** What clearing a target needs of a resolver: the addresses of a name. */
export interface AddressLookup {
  addresses(host: string, signal?: AbortSignal): Promise<DnsAnswer<string>>;
}

/**
 * The only door to the network for TCP: resolves through the service's resolver, applies the
 * address policy to every address, and connects to an address that was checked, never to the
 * name (Security: a second resolution would let DNS rebinding swap in a refused address).
 */
export class Network {
  readonly #addresses: AddressLookup;

  /** `addresses` is where targets are resolved (default `dns`; guessing passes one that asks once per name). */
  constructor(
    readonly dns: DnsResolver,
    readonly policy: AddressPolicy,
    /** Where refusals are described in full (debug level); absent: nowhere. */
    readonly log?: Pick<Log, 'debug'>,
    addresses: AddressLookup = dns,
  ) {
    this.#addresses = addresses;
  }

  /** Security: which address and which rule refused a target is logged at debug level, never returned to callers. */
  logRefusal(host: string, address: string, reason: string): void {
    this.log?.debug({ host, address, reason }, 'address policy refused a target');
  }

  /** Resolves a host and clears it; if any of its addresses is refused, the whole host is refused. */
  async resolveTarget(host: string, signal?: AbortSignal): Promise<TargetResolution> {
    const started = performance.now();
    const answer = await this.#addresses.addresses(host, signal);
    if (!answer.ok) {
      return { ok: false, code: 'dns_failed', message: `cannot resolve ${host}: ${answer.code}`, dnsKind: answer.kind, ms: elapsed(started) };
    }
    const cleared: string[] = [];
    for (const address of answer.records) {
      const verdict = this.policy.check(address);
      if (!verdict.allowed) {
        this.logRefusal(host, address, verdict.reason);
        // Security: the answer must not tell a caller what a name resolves to inside our network.
        return { ok: false, code: 'forbidden_target', message: `${host} resolves to a refused address`, ms: elapsed(started) };
      }
      // The canonical text of the judged bytes, so the socket connects to exactly what was judged.
      cleared.push(verdict.address);
    }
    return { ok: true, addresses: [...new Set(cleared)], ttlS: answer.ttlS, ms: elapsed(started) };
  }

  /**
   * Opens a TCP connection to the first reachable cleared address of the host. With a budget, each
   * attempt is counted against the address it uses; an address whose budget is spent is skipped.
   */
  async connect(options: { host: string; port: number; timeoutMs: number; signal?: AbortSignal; budget?: ConnectBudget }): Promise<ConnectResult> {
    const target = await this.resolveTarget(options.host, options.signal);
    if (!target.ok) {
      return { ok: false, code: target.code, message: target.message, address: null, ms: { dns: target.ms, connect: 0 } };
    }
    const started = performance.now();
    let last: ConnectResult | null = null;
    let overBudget: string | null = null;
    for (const [index, address] of target.addresses.entries()) {
      const remaining = options.timeoutMs - (performance.now() - started);
      if (remaining <= 0) break;
      // Security: counted here, on the very address the socket is about to use, so names that
      // share an address share its budget.
      if (options.budget && !(await options.budget.take(address))) {
        overBudget ??= address;
        continue;
      }
      // Each address left gets its share of the budget, so one that hangs cannot starve the next.
      const share = remaining / (target.addresses.length - index);
      const attempt = await connectAddress(address, options.port, share, options.signal);
      if (attempt.ok) return { ok: true, socket: attempt.socket, address, ms: { dns: target.ms, connect: elapsed(started) } };
      last = { ok: false, code: attempt.code, message: attempt.message, address, ms: { dns: target.ms, connect: elapsed(started) } };
      if (attempt.code === 'timeout') break;
    }
    if (!last && overBudget !== null) {
      return {
        ok: false,
        code: 'rate_limited',
        message: `too many connections to ${overBudget} (${options.host}); try again later`,
        address: overBudget,
        ms: { dns: target.ms, connect: elapsed(started) },
      };
    }
    return (
      last ?? {
        ok: false,
        code: 'connect_timeout',
        message: `no connection to ${options.host}:${options.port} within ${options.timeoutMs} ms`,
        address: target.addresses[0] ?? null,
        ms: { dns: target.ms, connect: elapsed(started) },
      }
    );
  }
}

/** Connects to one literal address (never a name: see Network). */
function connectAddress(
  address: string,
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ ok: true; socket: net.Socket } | { ok: false; code: 'connect_refused' | 'connect_timeout' | 'timeout'; message: string }> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve({ ok: false, code: 'timeout', message: 'aborted before connecting' });
    const socket = net.connect({ host: address, port, noDelay: true });
    type Outcome = { ok: true; socket: net.Socket } | { ok: false; code: 'connect_refused' | 'connect_timeout' | 'timeout'; message: string };
    const done = (result: Outcome) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      socket.removeListener('connect', onConnect);
      if (!result.ok) socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => done({ ok: false, code: 'connect_timeout', message: `no TCP connection to ${address}:${port} within ${Math.round(timeoutMs)} ms` }),
      timeoutMs,
    );
    const onAbort = () => done({ ok: false, code: 'timeout', message: 'aborted while connecting' });
    const onError = (error: NodeJS.ErrnoException) =>
      done({ ok: false, code: 'connect_refused', message: `${address}:${port}: ${error.code ?? error.message}` });
    const onConnect = () => done({ ok: true, socket });
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', onConnect);
  });
}
