// npm run publish-records -- <domain> [--target <host>] [--json] — the DNS records that point mail
// clients at this service for a served domain (the same as GET /v1/publish), from the environment's
// PROVIDERS_DIR and SERVE_HOSTNAME; no network. Exits 1 when the domain or the target is unusable.
import { hostNameProblem, normaliseDomain } from '../src/api/input.js';
import { ConfigError, loadConfig } from '../src/config/env.js';
import { loadProviderDb, ProviderDbError } from '../src/provider-db/provider-db.js';
import { ServeConfigError } from '../src/serve/profile-signer.js';
import { ServedDomains } from '../src/serve/served-domains.js';

const args = process.argv.slice(2);
const option = (name: string) => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
};
const target = option('--target');
const domainArg = args.find((arg, index) => !arg.startsWith('--') && args[index - 1] !== '--target');

try {
  if (!domainArg) throw new ConfigError('usage: npm run publish-records -- <domain> [--target <host>] [--json]');
  const config = loadConfig();
  const domain = normaliseDomain(domainArg);
  if (!domain.ok) throw new ConfigError(`${domainArg}: ${domain.message}`);
  const host = (target ?? config.SERVE_HOSTNAME).toLowerCase();
  if (!host) throw new ConfigError('name the host the records point at: SERVE_HOSTNAME or --target <host>');
  const problem = hostNameProblem(host);
  if (problem) throw new ConfigError(`--target ${host}: ${problem}`);
  const providerDb = await loadProviderDb({ extraDir: config.PROVIDERS_DIR || undefined });
  const result = ServedDomains.create([domain.domain], providerDb).publish(domain.domain, host);
  if (!config.SERVE_DOMAINS.includes(domain.domain)) {
    console.error(`note: ${domain.domain} is not in SERVE_DOMAINS: the service answers 404 for it until it is`);
  }
  if (args.includes('--json')) console.log(JSON.stringify(result, null, 2));
  else process.stdout.write(`${result?.zone ?? ''}${(result?.notes ?? []).map((note) => `; ${note}\n`).join('')}`);
} catch (error) {
  if (error instanceof ConfigError || error instanceof ProviderDbError || error instanceof ServeConfigError) {
    console.error(`error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
