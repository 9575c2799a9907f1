import type { HttpClient } from '../net/http.js';
import { fetchAutoconfig } from './autoconfig-fetch.js';
import type { Source, SourceResult } from './types.js';
import { SOURCE_TABLE } from './source-table.js';

/**
 * Source 2a: `https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=<address>`, the ISP's own
 * autoconfig host. The address is sent only over HTTPS (as mail clients do) and never reported.
 */
export function createAutoconfigSource(http: HttpClient): Source {
  return {
    ...SOURCE_TABLE.autoconfig,
    async lookup({ subject, signal, tls }) {
      const host = `autoconfig.${subject.domain}`;
      // Announced before the first await: the plain-HTTP source asks about this host (see TlsOutcomes).
      const settle = tls?.expect(host);
      const shownUrl = `https://${host}/mail/config-v1.1.xml`;
      const url = subject.email ? `${shownUrl}?emailaddress=${encodeURIComponent(subject.email)}` : shownUrl;
      let result: SourceResult | undefined;
      try {
        result = await fetchAutoconfig({ http, url, shownUrl, source: 'autoconfig', trusted: true, domain: subject.domain, signal });
        return result;
      } finally {
        const tlsFailed = result?.outcome === 'error' && result.error === 'tls_error';
        settle?.(tlsFailed ? { host, reason: result?.detail ?? 'tls_error' } : null);
      }
    },
  };
}

/** Source 2b: `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml` on the mail domain itself. */
export function createWellKnownAutoconfigSource(http: HttpClient): Source {
  return {
    ...SOURCE_TABLE.wellKnown,
    lookup({ subject, signal }) {
      const url = `https://${subject.domain}/.well-known/autoconfig/mail/config-v1.1.xml`;
      return fetchAutoconfig({ http, url, shownUrl: url, source: 'autoconfig', trusted: true, domain: subject.domain, signal });
    },
  };
}
