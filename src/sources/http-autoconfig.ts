import type { HttpClient } from '../net/http.js';
import { fetchAutoconfig } from './autoconfig-fetch.js';
import type { Source } from './types.js';

/** Priority of plain-HTTP autoconfig: the last autoconfig fallback, below SRV and MX. */
export const HTTP_AUTOCONFIG_PRIORITY = 50;

/**
 * Source 2c: `http://autoconfig.<domain>/mail/config-v1.1.xml` over plain HTTP, the last autoconfig
 * fallback. Security: anyone on the path can change this answer, so its servers are `trusted: false`;
 * privacy: the email address is never put in this URL. Redirects stay within the HTTP client's rules.
 */
export function createHttpAutoconfigSource(http: HttpClient): Source {
  return {
    name: 'http-autoconfig',
    priority: HTTP_AUTOCONFIG_PRIORITY,
    lookup({ subject, signal }) {
      const url = `http://autoconfig.${subject.domain}/mail/config-v1.1.xml`;
      return fetchAutoconfig({ http, url, shownUrl: url, source: 'autoconfig', trusted: false, domain: subject.domain, signal });
    },
  };
}
