// How well the provider database answers the domains of a set of autoconfig (ISPDB) files, offline.
// Pure: no I/O; scripts/providers-coverage.ts reads the files and prints the report.
import { parseAutoconfigXml, type AutoconfigServer } from '../formats/autoconfig-xml.js';
import { rankServers } from '../formats/rank.js';
import { providerServers } from './provider-servers.js';
import type { ProviderDb } from './provider-db.js';
import type { Provider } from './schema.js';

/** The part of a server that decides whether two answers are the same. */
export interface ServerEndpoint {
  protocol: 'imap' | 'pop3';
  host: string;
  port: number;
  security: 'tls' | 'starttls' | 'none';
}

/** One autoconfig file to measure against: a name (for the report) and its text. */
export interface CoverageInput {
  file: string;
  xml: string;
}

/** What happened to one domain of one file. */
export interface DomainCoverage {
  file: string;
  domain: string;
  /** The provider that answers the domain offline, if any. */
  providerId: string | undefined;
  /** The file's best incoming server (first encrypted IMAP, else first IMAP, else the same for POP3). */
  expected: ServerEndpoint | undefined;
  /** The best incoming server the provider database gives for the domain. */
  actual: ServerEndpoint | undefined;
  /** expected and actual are the same endpoint. */
  same: boolean;
  /** They differ, and the provider file says why (a hint that names the ISPDB). */
  documentedDifference: boolean;
}

/** Totals and details of a coverage run. */
export interface CoverageReport {
  files: number;
  /** Files the reader refused (name and reason). */
  unreadable: { file: string; reason: string }[];
  domains: DomainCoverage[];
  total: number;
  answered: number;
  /** Answered domains whose best server is the file's (documented differences counted as the same). */
  sameBest: number;
  /** Answered domains whose best server differs, with a documented reason. */
  documented: number;
}

const endpoint = (server: Pick<AutoconfigServer, 'protocol' | 'host' | 'port' | 'security'>): ServerEndpoint => ({
  protocol: server.protocol as 'imap' | 'pop3',
  host: server.host.toLowerCase(),
  port: server.port,
  security: server.security,
});

/**
 * The best incoming server of an autoconfig file, the way the service would recommend it: IMAP
 * before POP3, and within a protocol the first encrypted server in document order (a plaintext one
 * only when the protocol has nothing else).
 */
export function bestAutoconfigServer(incoming: readonly AutoconfigServer[]): ServerEndpoint | undefined {
  for (const protocol of ['imap', 'pop3'] as const) {
    const servers = incoming.filter((server) => server.protocol === protocol);
    const best = servers.find((server) => server.security !== 'none') ?? servers[0];
    if (best) return endpoint(best);
  }
  return undefined;
}

/** The best incoming server the service gives for a provider (same ordering as a lookup: rankServers). */
export function bestProviderServer(provider: Provider): ServerEndpoint | undefined {
  const ranked = rankServers(providerServers(provider, `provider-db:${provider.id}`).map((server) => ({ server, priority: 0 })));
  const best = ranked.incoming[0];
  return best ? endpoint(best) : undefined;
}

export const sameEndpoint = (a: ServerEndpoint | undefined, b: ServerEndpoint | undefined): boolean =>
  a !== undefined && b !== undefined && a.protocol === b.protocol && a.host === b.host && a.port === b.port && a.security === b.security;

/** A provider file documents a deliberate difference from the ISPDB with a hint that names it. */
export const documentsIspdbDifference = (provider: Provider): boolean => provider.hints.some((hint) => /\bISPDB\b/.test(hint.text));

/** Measures every `<domain>` (mail domains, not purpose="mx") of every file against the provider database. */
export function measureCoverage(db: Pick<ProviderDb, 'byDomain'>, inputs: readonly CoverageInput[]): CoverageReport {
  const report: CoverageReport = { files: inputs.length, unreadable: [], domains: [], total: 0, answered: 0, sameBest: 0, documented: 0 };
  for (const { file, xml } of inputs) {
    const plain = parseAutoconfigXml(xml);
    if (!plain.ok) {
      report.unreadable.push({ file, reason: `${plain.error}: ${plain.message}` });
      continue;
    }
    for (const domain of new Set(plain.data.domains)) {
      // %EMAILDOMAIN% in a host name is filled in for the domain looked up, as a lookup would.
      const parsed = parseAutoconfigXml(xml, { domain });
      const expected = parsed.ok ? bestAutoconfigServer(parsed.data.incoming) : undefined;
      const provider = db.byDomain(domain);
      const actual = provider ? bestProviderServer(provider) : undefined;
      const same = sameEndpoint(expected, actual);
      const documentedDifference = !same && provider !== undefined && documentsIspdbDifference(provider);
      report.domains.push({ file, domain, providerId: provider?.id, expected, actual, same, documentedDifference });
      report.total++;
      if (provider) {
        report.answered++;
        if (same || documentedDifference) report.sameBest++;
        if (documentedDifference) report.documented++;
      }
    }
  }
  return report;
}

export const formatEndpoint = (server: ServerEndpoint | undefined): string =>
  server ? `${server.protocol} ${server.host}:${server.port} ${server.security}` : '(none)';

export const percent = (part: number, whole: number): string => (whole === 0 ? '0.0%' : `${((100 * part) / whole).toFixed(1)}%`);
