import type { Config } from '../config/env.js';
import type { Network } from '../net/connect.js';
import type { ProviderDb } from '../provider-db/provider-db.js';
import { createProviderDbSource } from './provider-db.js';
import type { Source } from './types.js';

/** What the default sources need. */
export interface SourceDeps {
  config: Config;
  providerDb: ProviderDb;
  network: Network;
}

/** The sources a lookup consults, in no particular order (the resolver ranks them by priority). */
export function createDefaultSources(deps: SourceDeps): Source[] {
  return [createProviderDbSource(deps.providerDb)];
}
