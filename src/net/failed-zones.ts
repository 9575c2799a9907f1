import { getDomain } from 'tldts';

/** The zone a DNS name is charged to: its registrable domain (PSL, private suffixes included), else the name itself. */
export function zoneOf(name: string): string {
  const clean = name.toLowerCase().replace(/\.$/, '');
  // Private suffixes (github.io …) count: each customer below one is a zone of its own.
  return getDomain(clean, { allowPrivateDomains: true }) ?? clean;
}

/** A remembered failure of a zone: how the zone failed and until when it is not asked. */
export interface ZoneFailure {
  zone: string;
  kind: 'timeout' | 'error';
  /** The resolver's code of the failure that was remembered (ETIMEOUT, ESERVFAIL). */
  code: string;
  /** Milliseconds until the zone is asked again. */
  remainingMs: number;
}

interface Entry {
  kind: 'timeout' | 'error';
  code: string;
  until: number;
}

/**
 * Zones whose DNS servers time out or answer SERVFAIL, remembered for a short time so that every
 * name below such a zone (`*.blackhole.example`) fails at once instead of each holding a discovery
 * slot for a full DNS timeout. Security: a zone is remembered only when none of its names got an
 * answer (records, NXDOMAIN or NODATA) within the memory's lifetime, so a zone whose servers drop
 * one query type (SRV, AAAA) while answering the others is never cut off for the names that work.
 */
export class FailedZones {
  readonly #failed = new Map<string, Entry>();
  readonly #answered = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    /** Entries per map; the oldest go first (an attacker can name any number of zones). */
    private readonly maxEntries = 10_000,
  ) {}

  /** The remembered failure of the zone of `name`, if it is still remembered. */
  check(name: string): ZoneFailure | undefined {
    if (this.ttlMs <= 0 || this.#failed.size === 0) return undefined;
    const zone = zoneOf(name);
    const entry = this.#failed.get(zone);
    if (!entry) return undefined;
    const remainingMs = entry.until - this.now();
    if (remainingMs <= 0) {
      this.#failed.delete(zone);
      return undefined;
    }
    return { zone, kind: entry.kind, code: entry.code, remainingMs };
  }

  /** Notes that a name of the zone got an answer (records, NXDOMAIN or NODATA): the zone works. */
  answered(name: string): void {
    if (this.ttlMs <= 0) return;
    const zone = zoneOf(name);
    this.#answered.delete(zone);
    this.#set(this.#answered, zone, this.now());
    this.#failed.delete(zone);
  }

  /** Notes a timeout or SERVFAIL for a name; the zone is remembered unless it answered lately. */
  failed(name: string, kind: 'timeout' | 'error', code: string): void {
    if (this.ttlMs <= 0) return;
    const zone = zoneOf(name);
    const now = this.now();
    const lastAnswer = this.#answered.get(zone);
    if (lastAnswer !== undefined && now - lastAnswer < this.ttlMs) return;
    this.#failed.delete(zone);
    this.#set(this.#failed, zone, { kind, code, until: now + this.ttlMs });
  }

  #set<V>(map: Map<string, V>, key: string, value: V): void {
    if (map.size >= this.maxEntries) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
    map.set(key, value);
  }
}
