import type { ProviderDb } from '../provider-db/provider-db.js';
import type { Provider } from '../provider-db/schema.js';
import { providerServers } from '../provider-db/provider-servers.js';
import type { Source } from './types.js';
import { SOURCE_TABLE } from './source-table.js';

/** Source 1: the embedded provider database, matched by the email domain. */
export function createProviderDbSource(db: ProviderDb): Source {
  return {
    ...SOURCE_TABLE.providerDb,
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
