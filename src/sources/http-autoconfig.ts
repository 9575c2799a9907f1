import type { HttpClient } from '../net/http.js';
import { fetchAutoconfig } from './autoconfig-fetch.js';
import type { Source, SourceResult } from './types.js';
import { SOURCE_TABLE } from './source-table.js';

/** Stable code of a plain-HTTP answer refused because HTTPS to the same host failed its TLS check. */
export const TLS_DOWNGRADE_REFUSED = 'tls_downgrade_refused';

/**
 * Source 2c: `http://autoconfig.<domain>/mail/config-v1.1.xml` over plain HTTP, the last autoconfig
 * fallback. Security: anyone on the path can change this answer, so its servers are `trusted: false`;
 * and when `https://autoconfig.<domain>` failed its TLS check in the same discovery (bad, expired or
 * wrong-host certificate) the answer is not used at all (`blocked`, `tls_downgrade_refused`): that
 * failure is exactly what an attacker serving the plain-HTTP answer would cause. Privacy: the email
 * address is never put in this URL. Redirects stay within the HTTP client's rules.
 */
export function createHttpAutoconfigSource(http: HttpClient): Source {
  return {
    ...SOURCE_TABLE.httpAutoconfig,
    async lookup({ subject, signal, tls }): Promise<SourceResult> {
      const host = `autoconfig.${subject.domain}`;
      const url = `http://${host}/mail/config-v1.1.xml`;
      // Fetched alongside the HTTPS source (no added latency); its TLS outcome decides whether this answer may be used.
      const result = await fetchAutoconfig({ http, url, shownUrl: url, source: 'autoconfig', trusted: false, domain: subject.domain, signal });
      const failure = tls ? await tls.failure(host, signal) : null;
      if (!failure) return result;
      return {
        outcome: 'blocked',
        error: TLS_DOWNGRADE_REFUSED,
        detail: `not used: https://${host} failed its TLS check (${failure.reason}) in this lookup, so a plain-HTTP answer could be an attacker's`,
        url,
      };
    },
  };
}
