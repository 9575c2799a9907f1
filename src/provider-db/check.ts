import type { Provider } from './schema.js';

/** The security each well-known port implies (RFC 8314 for 993/995/465; RFC 3501/1939/6409 for the rest). */
export const PORT_SECURITY: Record<number, 'tls' | 'starttls'> = {
  993: 'tls',
  995: 'tls',
  465: 'tls',
  143: 'starttls',
  110: 'starttls',
  587: 'starttls',
  25: 'starttls',
};

/** Findings of the provider database check. */
export interface ProviderCheckReport {
  errors: string[];
  warnings: string[];
  providers: number;
  domains: number;
  mxSuffixes: number;
}

/**
 * Rules beyond the schema: no domain or MX suffix claimed twice, no plaintext server that would be
 * recommended, ports consistent with security, and hosts that look like public host names.
 */
export function checkProviders(providers: Provider[]): ProviderCheckReport {
  const errors: string[] = [];
  const warnings: string[] = [];
  const domainOwner = new Map<string, string>();
  const suffixOwner = new Map<string, string>();
  const ids = new Set<string>();
  for (const provider of providers) {
    const where = `providers/${provider.id}.json`;
    if (ids.has(provider.id)) errors.push(`${where}: id ${provider.id} used twice`);
    ids.add(provider.id);
    for (const domain of provider.domains) {
      const owner = domainOwner.get(domain);
      if (owner) errors.push(`${where}: domain ${domain} is already claimed by ${owner}`);
      else domainOwner.set(domain, provider.id);
    }
    for (const suffix of provider.mxSuffixes) {
      const owner = suffixOwner.get(suffix);
      if (owner) errors.push(`${where}: mxSuffix ${suffix} is already claimed by ${owner}`);
      else suffixOwner.set(suffix, provider.id);
    }
    if (new Set(provider.domains).size !== provider.domains.length) errors.push(`${where}: a domain is listed twice`);
    for (const list of ['incoming', 'outgoing'] as const) {
      const servers = provider[list];
      if (servers.length > 0 && servers.every((server) => server.security === 'none')) {
        errors.push(`${where}: ${list} offers only plaintext servers, one of which would be recommended`);
      }
      servers.forEach((server, index) => {
        const field = `${where}: ${list}[${index}] ${server.host}:${server.port}`;
        const expected = PORT_SECURITY[server.port];
        if (expected && server.security !== expected && server.security !== 'none') {
          errors.push(`${field}: port ${server.port} is ${expected}, not ${server.security}`);
        }
        if (server.security === 'none') warnings.push(`${field}: plaintext server (reported, never recommended)`);
        if (!expected) warnings.push(`${field}: non-standard port`);
        if (server.host.startsWith('localhost') || /^\d+(\.\d+){3}$/.test(server.host)) {
          errors.push(`${field}: host must be a public host name`);
        }
      });
    }
    const imap = provider.incoming.findIndex((server) => server.protocol === 'imap');
    const pop3 = provider.incoming.findIndex((server) => server.protocol === 'pop3');
    if (imap >= 0 && pop3 >= 0 && pop3 < imap) warnings.push(`${where}: list IMAP before POP3`);
    if (provider.outgoing.length === 0) warnings.push(`${where}: no outgoing server`);
    const offersOAuth = [...provider.incoming, ...provider.outgoing].some((server) => server.authentication.includes('oauth2'));
    if (provider.oauth2 && !offersOAuth) errors.push(`${where}: oauth2 details, but no server lists oauth2 authentication`);
    if (offersOAuth && !provider.oauth2) warnings.push(`${where}: a server lists oauth2, but the file has no oauth2 details (issuer, endpoints, scopes)`);
  }
  return { errors, warnings, providers: providers.length, domains: domainOwner.size, mxSuffixes: suffixOwner.size };
}
