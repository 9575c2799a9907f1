import type { HttpClient } from '../net/http.js';
import { fetchAutoconfig } from './autoconfig-fetch.js';
import type { Source } from './types.js';

/** Priority of the ISP's own autoconfig host (after the provider database). */
export const AUTOCONFIG_PRIORITY = 10;
/** Priority of the well-known autoconfig location on the mail domain itself. */
export const WELL_KNOWN_PRIORITY = 11;

/**
 * Source 2a: `https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=<address>`, the ISP's own
 * autoconfig host. The address is sent only over HTTPS (as mail clients do) and never reported.
 */
export function createAutoconfigSource(http: HttpClient): Source {
  return {
    name: 'autoconfig',
    priority: AUTOCONFIG_PRIORITY,
    lookup({ subject, signal }) {
      const shownUrl = `https://autoconfig.${subject.domain}/mail/config-v1.1.xml`;
      const url = subject.email ? `${shownUrl}?emailaddress=${encodeURIComponent(subject.email)}` : shownUrl;
      return fetchAutoconfig({ http, url, shownUrl, source: 'autoconfig', trusted: true, domain: subject.domain, signal });
    },
  };
}

/** Source 2b: `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml` on the mail domain itself. */
export function createWellKnownAutoconfigSource(http: HttpClient): Source {
  return {
    name: 'autoconfig-well-known',
    priority: WELL_KNOWN_PRIORITY,
    lookup({ subject, signal }) {
      const url = `https://${subject.domain}/.well-known/autoconfig/mail/config-v1.1.xml`;
      return fetchAutoconfig({ http, url, shownUrl: url, source: 'autoconfig', trusted: true, domain: subject.domain, signal });
    },
  };
}
