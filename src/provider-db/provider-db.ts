import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { providerSchema, type Provider } from './schema.js';

/** The providers/ folder shipped with the service (two levels up from src/ or dist/ modules). */
export const BUILT_IN_PROVIDERS_DIR = fileURLToPath(new URL('../../providers/', import.meta.url));

/** Raised when a provider file is unreadable or invalid; names the file and the field. */
export class ProviderDbError extends Error {
  override name = 'ProviderDbError';
}

/** The validated provider database, indexed by email domain and by MX host suffix. */
export class ProviderDb {
  readonly #byId = new Map<string, Provider>();
  readonly #byDomain = new Map<string, Provider>();
  readonly #byMxSuffix = new Map<string, Provider>();

  /** Builds the indexes; later layers (operator directories) override earlier ones by id, domain and suffix. */
  constructor(layers: Provider[][]) {
    for (const layer of layers) {
      const seenDomains = new Map<string, string>();
      const seenSuffixes = new Map<string, string>();
      for (const provider of layer) {
        const previous = this.#byId.get(provider.id);
        if (previous) this.#forget(previous);
        this.#byId.set(provider.id, provider);
        for (const domain of provider.domains) {
          const owner = seenDomains.get(domain);
          if (owner && owner !== provider.id) {
            throw new ProviderDbError(`domain ${domain} is claimed by both ${owner} and ${provider.id}`);
          }
          seenDomains.set(domain, provider.id);
          this.#byDomain.set(domain, provider);
        }
        for (const suffix of provider.mxSuffixes) {
          const owner = seenSuffixes.get(suffix);
          if (owner && owner !== provider.id) {
            throw new ProviderDbError(`mxSuffix ${suffix} is claimed by both ${owner} and ${provider.id}`);
          }
          seenSuffixes.set(suffix, provider.id);
          this.#byMxSuffix.set(suffix, provider);
        }
      }
    }
  }

  #forget(provider: Provider): void {
    for (const domain of provider.domains) if (this.#byDomain.get(domain) === provider) this.#byDomain.delete(domain);
    for (const suffix of provider.mxSuffixes) if (this.#byMxSuffix.get(suffix) === provider) this.#byMxSuffix.delete(suffix);
  }

  /** The provider that hosts mail for this email domain, if known (one map look-up). */
  byDomain(domain: string): Provider | undefined {
    return this.#byDomain.get(domain);
  }

  /** The provider whose MX suffix matches the host (walks the host's labels: O(labels)). */
  byMxHost(host: string): Provider | undefined {
    let name = host.toLowerCase().replace(/\.$/, '');
    for (;;) {
      const provider = this.#byMxSuffix.get(name);
      if (provider) return provider;
      const dot = name.indexOf('.');
      if (dot < 0) return undefined;
      name = name.slice(dot + 1);
    }
  }

  byId(id: string): Provider | undefined {
    return this.#byId.get(id);
  }

  /** Every provider, sorted by id. */
  all(): Provider[] {
    return [...this.#byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  get domainCount(): number {
    return this.#byDomain.size;
  }
}

/** Reads and validates every *.json file of one directory. */
export async function readProviderDir(dir: string): Promise<Provider[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json') && !name.endsWith('.schema.json')).sort();
  } catch (error) {
    throw new ProviderDbError(`cannot read provider directory ${dir}: ${(error as Error).message}`);
  }
  const providers: Provider[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let data: unknown;
    try {
      data = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new ProviderDbError(`${file}: not valid JSON: ${(error as Error).message}`);
    }
    const parsed = providerSchema.safeParse(data);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
      throw new ProviderDbError(`${file}: invalid provider: ${issues.join('; ')}`);
    }
    if (`${parsed.data.id}.json` !== name) {
      throw new ProviderDbError(`${file}: id "${parsed.data.id}" must match the file name`);
    }
    providers.push(parsed.data);
  }
  return providers;
}

/** Loads the built-in providers, then the operator's directory (PROVIDERS_DIR) on top. */
export async function loadProviderDb(options: { builtInDir?: string; extraDir?: string } = {}): Promise<ProviderDb> {
  const layers = [await readProviderDir(options.builtInDir ?? BUILT_IN_PROVIDERS_DIR)];
  if (options.extraDir) layers.push(await readProviderDir(options.extraDir));
  return new ProviderDb(layers);
}
