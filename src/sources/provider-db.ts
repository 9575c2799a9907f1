import type { ProviderDb } from '../provider-db/provider-db.js';
import type { Provider } from '../provider-db/schema.js';
import { toCandidates, type CandidateServer, type Source } from './types.js';

/** Turns a provider entry into candidate servers, all tagged with the given provenance (OAuth details too). */
export function providerServers(provider: Provider, source: string): CandidateServer[] {
  const oauth2 = provider.oauth2
    ? {
        issuer: provider.oauth2.issuer,
        authorizationEndpoint: provider.oauth2.authorizationEndpoint,
        tokenEndpoint: provider.oauth2.tokenEndpoint,
        scopes: provider.oauth2.scopes,
        source: `provider-db:${provider.id}`,
      }
    : undefined;
  return toCandidates([...provider.incoming, ...provider.outgoing], source, true, oauth2);
}

/** Source 1: the embedded provider database, matched by the email domain. */
export function createProviderDbSource(db: ProviderDb): Source {
  return {
    name: 'provider-db',
    priority: 0,
    local: true,
    async lookup({ subject }) {
      const provider = db.byDomain(subject.domain);
      if (!provider) return { outcome: 'not-found', detail: `no provider lists ${subject.domain}` };
      return {
        outcome: 'found',
        provider,
        servers: providerServers(provider, `provider-db:${provider.id}`),
        detail: `${subject.domain} is a domain of ${provider.name}`,
      };
    },
  };
}
