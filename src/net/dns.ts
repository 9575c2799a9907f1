import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { untilAborted } from './abort.js';
import { FailedZones } from './failed-zones.js';

/** Outcome of a DNS question. Failures are values; `not-found` covers NXDOMAIN and NODATA. */
export type DnsAnswer<T> =
  | { ok: true; records: T[]; ttlS: number | undefined }
  | { ok: false; kind: 'not-found' | 'error' | 'timeout'; code: string; message: string };

/** An MX record. */
export interface MxRecord {
  exchange: string;
  priority: number;
}

/** An SRV record (RFC 2782). */
export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/** Options of the service's DNS resolver. */
export interface DnsOptions {
  /** DNS_SERVERS entries (`ip`, `ip:port`, `[v6]:port`); empty = the system's resolvers. */
  servers: readonly string[];
  timeoutMs: number;
  tries: number;
  /** How long a zone whose servers timed out or answered SERVFAIL is not asked again (0: always ask). */
  failedZoneTtlMs?: number;
  /** Clock of the failed-zone memory (tests). */
  now?: () => number;
}

/** The resolver codes that say the zone's servers did not answer, as opposed to our own resolver refusing or us cancelling. */
const ZONE_FAILURE_CODES = new Set(['ETIMEOUT', 'ESERVFAIL']);

function classify(error: unknown): { kind: 'not-found' | 'error' | 'timeout'; code: string; message: string } {
  const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
  const message = (error as Error).message ?? String(error);
  if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'ENONAME') return { kind: 'not-found', code, message };
  if (code === 'ETIMEOUT' || code === 'ECANCELLED') return { kind: 'timeout', code, message };
  return { kind: 'error', code, message };
}

/** Parses one DNS_SERVERS entry into address and port, or null when malformed. */
export function parseDnsServer(value: string): { address: string; port: number } | null {
  let address = value;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) {
    address = bracketed[1] ?? '';
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if (value.split(':').length === 2) {
    const [host, portText] = value.split(':');
    address = host ?? '';
    port = Number(portText);
  }
  if (!ipaddr.isValid(address) || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { address, port };
}

/**
 * The one resolver that answers every name the service resolves (SRV, MX, fetch and probe targets).
 * It talks DNS directly to the configured servers (c-ares), never through `dns.lookup`, which would
 * read /etc/hosts and block libuv's threadpool. Each query has a timeout and an explicit try count.
 */
export class DnsResolver {
  readonly #resolver: Resolver;
  readonly #failedZones: FailedZones;

  constructor(readonly options: DnsOptions) {
    this.#resolver = new Resolver({ timeout: options.timeoutMs, tries: options.tries });
    this.#failedZones = new FailedZones(options.failedZoneTtlMs ?? 0, options.now);
    if (options.servers.length > 0) {
      this.#resolver.setServers(
        options.servers.map((entry) => {
          const parsed = parseDnsServer(entry);
          if (!parsed) throw new Error(`invalid DNS server ${entry}`);
          return isIP(parsed.address) === 6 ? `[${parsed.address}]:${parsed.port}` : `${parsed.address}:${parsed.port}`;
        }),
      );
    }
  }

  /**
   * Runs a query; an aborted signal stops the wait at once (the query itself still ends within its
   * own timeout). A name below a zone remembered as failing is answered with that failure at once,
   * its code saying so (it shows in the lookup's trace).
   */
  async #ask<T>(name: string, query: () => Promise<T[]>, ttlOf: (records: T[]) => number | undefined, signal?: AbortSignal): Promise<DnsAnswer<T>> {
    if (signal?.aborted) return { ok: false, kind: 'timeout', code: 'ECANCELLED', message: 'aborted' };
    const known = this.#failedZones.check(name);
    if (known) {
      const note = `${known.code} (remembered: the DNS servers of ${known.zone} did not answer; not asked again for ${Math.ceil(known.remainingMs / 1000)} s)`;
      return { ok: false, kind: known.kind, code: note, message: `${name}: ${note}` };
    }
    try {
      const records = await (signal ? untilAborted(query(), signal, { reason: cancelled }) : query());
      this.#failedZones.answered(name);
      return { ok: true, records, ttlS: ttlOf(records) };
    } catch (error) {
      const failure = classify(error);
      if (failure.kind === 'not-found') this.#failedZones.answered(name);
      else if (ZONE_FAILURE_CODES.has(failure.code)) this.#failedZones.failed(name, failure.kind, failure.code);
      return { ok: false, ...failure };
    }
  }

  /** A and AAAA records of a host, with the smallest TTL; an IP literal answers itself. */
  async addresses(host: string, signal?: AbortSignal): Promise<DnsAnswer<string>> {
    if (isIP(host)) return { ok: true, records: [host], ttlS: undefined };
    const [v4, v6] = await Promise.all([
      this.#ask(host, () => this.#resolver.resolve4(host, { ttl: true }), minTtl, signal),
      this.#ask(host, () => this.#resolver.resolve6(host, { ttl: true }), minTtl, signal),
    ]);
    const records = [...(v4.ok ? v4.records : []), ...(v6.ok ? v6.records : [])];
    if (records.length > 0) {
      const ttls = [v4, v6].flatMap((answer) => (answer.ok && answer.ttlS !== undefined ? [answer.ttlS] : []));
      return {
        ok: true,
        records: records.map((record) => record.address),
        ttlS: ttls.length ? Math.min(...ttls) : undefined,
      };
    }
    // Report the more telling failure: a timeout or SERVFAIL matters more than NODATA on one family.
    const failures = [v4, v6].filter((answer): answer is Extract<DnsAnswer<unknown>, { ok: false }> => !answer.ok);
    const worst = failures.find((answer) => answer.kind === 'timeout') ?? failures.find((answer) => answer.kind === 'error') ?? failures[0];
    return worst ?? { ok: false, kind: 'not-found', code: 'ENODATA', message: `${host} has no addresses` };
  }

  async mx(domain: string, signal?: AbortSignal): Promise<DnsAnswer<MxRecord>> {
    return this.#ask(domain, () => this.#resolver.resolveMx(domain), () => undefined, signal);
  }

  async srv(name: string, signal?: AbortSignal): Promise<DnsAnswer<SrvRecord>> {
    return this.#ask(name, () => this.#resolver.resolveSrv(name), () => undefined, signal);
  }

  /** TXT records, each the concatenation of its character-strings (RFC 7208 §3.3 style). */
  async txt(name: string, signal?: AbortSignal): Promise<DnsAnswer<string>> {
    return this.#ask(name, async () => (await this.#resolver.resolveTxt(name)).map((parts) => parts.join('')), () => undefined, signal);
  }

  /** Cancels every outstanding query (shutdown). */
  cancel(): void {
    this.#resolver.cancel();
  }
}

function minTtl(records: { ttl: number }[]): number | undefined {
  return records.length ? Math.min(...records.map((record) => record.ttl)) : undefined;
}

/** The error an aborted query rejects with (classified as a timeout, like c-ares' own cancel). */
function cancelled(): Error {
  return Object.assign(new Error('aborted'), { code: 'ECANCELLED' });
}
