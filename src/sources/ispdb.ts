import type { HttpClient } from '../net/http.js';
import { fetchAutoconfig } from './autoconfig-fetch.js';
import type { Source } from './types.js';

/** Priority of the central ISPDB (below the ISP's own autoconfig, above SRV). */
export const ISPDB_PRIORITY = 20;

/**
 * Source 3: the central ISPDB, `<ISPDB_URL><domain>` (Thunderbird's database by default). An empty
 * ISPDB_URL disables it: the source then reports `skipped` without touching the network.
 */
export function createIspdbSource(http: HttpClient, baseUrl: string): Source {
  return {
    name: 'ispdb',
    priority: ISPDB_PRIORITY,
    async lookup({ subject, signal }) {
      if (!baseUrl) return { outcome: 'skipped', detail: 'ISPDB_URL is empty: the central database is disabled' };
      const url = `${baseUrl}${encodeURIComponent(subject.domain)}`;
      // An operator-configured http:// base is an unauthenticated channel like any other.
      const trusted = baseUrl.startsWith('https://');
      return fetchAutoconfig({ http, url, shownUrl: url, source: 'ispdb', trusted, domain: subject.domain, signal });
    },
  };
}
