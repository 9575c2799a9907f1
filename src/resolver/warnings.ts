import { getDomain } from 'tldts';
import type { Protocol, Warning } from '../api/schemas.js';
import type { CandidateServer, SettledSource } from '../sources/types.js';

/** The registrable domain of a host (its own name when the public suffix list does not know it). */
const siteOf = (host: string): string => getDomain(host) ?? host;

const list = (hosts: readonly string[]) => [...new Set(hosts)].join(', ');

/**
 * What a person should know about a merged answer, without changing it (the domain's own
 * publication still wins): a published configuration that disagrees with where the domain's MX
 * says the mailbox lives, an answer that came only over plain HTTP, a protocol offered only
 * without TLS, and an answer found only by guessing.
 */
export function answerWarnings(settled: readonly SettledSource[], incoming: readonly CandidateServer[], outgoing: readonly CandidateServer[]): Warning[] {
  const warnings: Warning[] = [];
  const disagreement = staleConfiguration(settled);
  if (disagreement) warnings.push(disagreement);
  if (incoming.length > 0 && incoming.every((server) => !server.trusted)) {
    warnings.push({
      code: 'untrusted_only',
      message: 'These settings came only over plain HTTP, which anyone on the network path could have changed: confirm them with the provider before entering a password.',
      sources: namesOf(settled, incoming),
    });
  }
  const byProtocol = new Map<Protocol, CandidateServer[]>();
  for (const server of [...incoming, ...outgoing]) byProtocol.set(server.protocol, [...(byProtocol.get(server.protocol) ?? []), server]);
  for (const [protocol, servers] of byProtocol) {
    if (servers.every((server) => server.security === 'none')) {
      warnings.push({
        code: 'plaintext_only_protocol',
        message: `${protocol.toUpperCase()} is offered only without encryption: the password and mail would cross the network readable by anyone on the path.`,
        sources: namesOf(settled, servers),
      });
    }
  }
  const answering = settled.filter((entry) => !entry.crossCheckOnly && entry.result.outcome === 'found');
  if (answering.length > 0 && answering.every((entry) => entry.source.fallback)) {
    warnings.push({
      code: 'guessed',
      message: 'The domain publishes no settings: these servers were found by trying common host names, so check them with the provider.',
      sources: answering.map((entry) => entry.source.name),
    });
  }
  return warnings;
}

/**
 * `sources_disagree`: the best answer is the domain's own publication (or a database's), but the
 * domain's MX host belongs to a hosted provider whose servers are on none of the same sites (e.g. an
 * autoconfig naming mail.example.com left behind after a move to Microsoft 365).
 */
function staleConfiguration(settled: readonly SettledSource[]): Warning | undefined {
  const found = settled.filter((entry) => entry.result.outcome === 'found');
  const best = found.filter((entry) => !entry.crossCheckOnly).sort((a, b) => a.source.priority - b.source.priority)[0];
  const mx = found.find((entry) => entry.source.name === 'mx');
  if (!best || !mx || best === mx || best.source.local || best.result.outcome !== 'found' || mx.result.outcome !== 'found') return undefined;
  const provider = mx.result.provider;
  if (!provider) return undefined;
  const answerHosts = best.result.servers.filter((server) => server.protocol !== 'smtp').map((server) => server.host);
  const providerHosts = mx.result.servers.filter((server) => server.protocol !== 'smtp').map((server) => server.host);
  const providerSites = new Set(providerHosts.map(siteOf));
  if (answerHosts.length === 0 || answerHosts.some((host) => providerSites.has(siteOf(host)))) return undefined;
  return {
    code: 'sources_disagree',
    message:
      `The domain's ${best.source.name} names ${list(answerHosts)}, but its mail (MX) is handled by ${provider.name} ` +
      `(${list(providerHosts)}): the published configuration may be left over from before a move. These settings follow ` +
      `the domain's own publication; if they fail, try ${provider.name}'s.`,
    sources: [best.source.name, mx.source.name],
  };
}

/** The names of the sources whose servers these are (by their provenance), in answer order. */
function namesOf(settled: readonly SettledSource[], servers: readonly CandidateServer[]): string[] {
  const nameByProvenance = new Map<string, string>();
  for (const entry of settled) {
    if (entry.result.outcome !== 'found' && entry.result.outcome !== 'partial') continue;
    for (const server of entry.result.servers) if (!nameByProvenance.has(server.source)) nameByProvenance.set(server.source, entry.source.name);
  }
  return [...new Set(servers.map((server) => nameByProvenance.get(server.source) ?? server.source))];
}
