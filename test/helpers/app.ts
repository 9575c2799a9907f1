import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.js';
import { type EnvName } from '../../src/config/env.js';
import { testConfig } from './config.js';
import { loadProviderDb, type ProviderDb } from '../../src/provider-db/provider-db.js';
import { NO_DNS_SERVER } from './fakes.js';

export { NO_DNS_SERVER };

/** Provider files written for tests (domains under .test). */
export const FIXTURE_PROVIDERS_DIR = fileURLToPath(new URL('../fixtures/providers/', import.meta.url));

/** A provider database of the shipped providers plus the test fixtures on top. */
export async function loadTestProviderDb(): Promise<ProviderDb> {
  return loadProviderDb({ extraDir: FIXTURE_PROVIDERS_DIR });
}

/** Builds the app for app.inject tests: silent logs, test fixtures, no outbound network by default. */
export async function buildTestApp(
  overrides: Partial<Record<EnvName, string>> = {},
  deps: Partial<AppDeps> = {},
): Promise<FastifyInstance> {
  const providerDb = deps.providerDb ?? (await loadTestProviderDb());
  // No outbound network: DNS goes to a closed loopback port (refused at once), never the system's resolver.
  const app = await buildApp(testConfig({ ISPDB_URL: '', DNS_SERVERS: NO_DNS_SERVER, DNS_TRIES: '1', ...overrides }), {
    ...deps,
    providerDb,
  });
  await app.ready();
  return app;
}
