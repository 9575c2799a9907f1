import type { LookupSubject } from '../api/input.js';
import type { Autoconfigure, PublishResult } from '../api/serve-schemas.js';
import type { ProviderDb } from '../provider-db/provider-db.js';
import type { Provider } from '../provider-db/schema.js';
import { renderAutoconfigXml } from './autoconfig-document.js';
import { mobileconfigServers } from './mobileconfig.js';
import { renderPaccDocument, type PaccDocument } from './pacc-document.js';
import { ServeConfigError } from './profile-signer.js';
import { publishRecords } from './publish.js';

/** The host-name prefixes mail clients put before a mail domain to find its documents. */
export type ServeLabel = 'autoconfig' | 'autodiscover' | 'ua-auto-config';

/** One domain this instance answers for, with the documents that are the same for every user (made once). */
export interface ServedDomain {
  domain: string;
  provider: Provider;
  /** The autoconfig document (no per-user value: served to everyone alike). */
  autoconfigXml: string;
  /** The PACC document and its TXT value; undefined when the provider has no server PACC can describe. */
  pacc: PaccDocument | undefined;
  /** Whether an Apple profile can describe the provider's servers. */
  mobileconfig: boolean;
}

/** Longest Host header value looked at (a DNS name is at most 253 characters, plus a port). */
const MAX_HOST_CHARS = 260;

/**
 * The host name of a Host header, lower-case, without port and trailing dot, or undefined when it
 * is not a DNS name. Security: the header is whatever the client sent; it is only ever compared with
 * SERVE_DOMAINS, never resolved, fetched or echoed.
 */
export function hostOfHeader(header: string | undefined): string | undefined {
  if (!header || header.length > MAX_HOST_CHARS) return undefined;
  const host = header.trim().toLowerCase().replace(/:\d{1,5}$/, '').replace(/\.$/, '');
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(host) ? host : undefined;
}

/** The domains of SERVE_DOMAINS with their provider and documents. */
export class ServedDomains {
  readonly #domains: ReadonlyMap<string, ServedDomain>;

  private constructor(domains: Map<string, ServedDomain>) {
    this.#domains = domains;
  }

  /**
   * Looks each domain up in the provider database (built-in files and PROVIDERS_DIR) and renders its
   * shared documents once. Throws ServeConfigError naming a domain no provider file lists.
   */
  static create(domains: readonly string[], providerDb: Pick<ProviderDb, 'byDomain'>): ServedDomains {
    const map = new Map<string, ServedDomain>();
    for (const domain of domains) {
      const provider = providerDb.byDomain(domain);
      if (!provider) {
        throw new ServeConfigError(`SERVE_DOMAINS: no provider file lists the domain ${domain} (add it to a file in PROVIDERS_DIR)`);
      }
      map.set(domain, {
        domain,
        provider,
        autoconfigXml: renderAutoconfigXml(provider, domain),
        pacc: renderPaccDocument(provider),
        mobileconfig: mobileconfigServers(provider) !== undefined,
      });
    }
    return new ServedDomains(map);
  }

  /** The served domains, in SERVE_DOMAINS order. */
  get domains(): string[] {
    return [...this.#domains.keys()];
  }

  /** The served entry of a (normalised) mail domain. */
  get(domain: string): ServedDomain | undefined {
    return this.#domains.get(domain);
  }

  /** The served domain a Host header names: `<label>.<domain>` or the domain itself; undefined for anything else. */
  forHost(header: string | undefined, label: ServeLabel): ServedDomain | undefined {
    const host = hostOfHeader(header);
    if (!host) return undefined;
    const prefix = `${label}.`;
    return (host.startsWith(prefix) ? this.#domains.get(host.slice(prefix.length)) : undefined) ?? this.#domains.get(host);
  }

  /** The DNS records for one served domain, pointing at `target` (SERVE_HOSTNAME). */
  publish(domain: string, target: string): PublishResult | undefined {
    const served = this.#domains.get(domain);
    return served ? publishRecords({ domain, provider: served.provider, paccTxt: served.pacc?.txt }, target) : undefined;
  }

  /**
   * The `autoconfigure` hint of a lookup answer, or undefined when the domain is not served. The
   * profile URL carries the looked-up address (the profile is per address), so it exists only then.
   */
  autoconfigure(subject: LookupSubject, serveHostname: string): Autoconfigure | undefined {
    const served = this.#domains.get(subject.domain);
    if (!served) return undefined;
    const mobileconfigUrl =
      served.mobileconfig && subject.email !== null ? `https://${serveHostname}/v1/mobileconfig?email=${encodeURIComponent(subject.email)}` : null;
    return { mobileconfigUrl };
  }
}
