/**
 * How the resolver schedules one source: its name in `sources[]`, its rank (`priority`: lower is
 * better, the resolver answers once no better-ranked source is pending) and when it runs. The
 * meaning of each field is on the Source interface (sources/types.ts).
 */
export interface SourceSchedule {
  readonly name: string;
  readonly priority: number;
  readonly local?: boolean;
  readonly deferMs?: number;
  readonly crossCheckMs?: number;
  readonly companion?: boolean;
  readonly fallback?: boolean;
}

/**
 * Head start of the newer, costlier sources (PACC, Autodiscover) over the ISP's own autoconfig:
 * about one cold HTTPS fetch, so a domain that publishes autoconfig is answered before they start.
 */
export const DEFERRED_SOURCE_HEAD_START_MS = 100;

/**
 * The one table of sources and their ranks (the README's source table is checked against it by
 * test/unit/source-table.test.ts). Each source module takes its row; nothing else states a rank.
 */
export const SOURCE_TABLE = {
  /** Memory only: runs before the network sources, which never start when it answers. */
  providerDb: { name: 'provider-db', priority: 0, local: true },
  autoconfig: { name: 'autoconfig', priority: 10 },
  wellKnown: { name: 'autoconfig-well-known', priority: 11 },
  pacc: { name: 'pacc', priority: 13, deferMs: DEFERRED_SOURCE_HEAD_START_MS },
  autodiscover: { name: 'autodiscover', priority: 15, deferMs: DEFERRED_SOURCE_HEAD_START_MS },
  ispdb: { name: 'ispdb', priority: 20 },
  srv: { name: 'srv', priority: 30 },
  /** Where the domain's mail really goes: kept up to 150 ms past a better answer to catch a stale published configuration. */
  mx: { name: 'mx', priority: 40, crossCheckMs: 150 },
  httpAutoconfig: { name: 'http-autoconfig', priority: 50 },
  /** Alternatives only (JMAP): unranked for servers; its priority orders alternatives only. */
  jmap: { name: 'jmap', priority: 60, companion: true },
  /** Live guessing: only when every other source found no incoming server. */
  guess: { name: 'guess', priority: 100, fallback: true },
} as const satisfies Record<string, SourceSchedule>;
