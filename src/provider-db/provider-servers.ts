import { toCandidates, type CandidateServer } from '../formats/candidate.js';
import type { Provider } from './schema.js';

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
