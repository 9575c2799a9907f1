import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.js';
import { testConfig, type Config } from '../../src/config/env.js';
import { loadProviderDb, type ProviderDb } from '../../src/provider-db/provider-db.js';

/** Provider files written for tests (domains under .test). */
export const FIXTURE_PROVIDERS_DIR = fileURLToPath(new URL('../fixtures/providers/', import.meta.url));

/** A provider database of the shipped providers plus the test fixtures on top. */
export async function loadTestProviderDb(): Promise<ProviderDb> {
  return loadProviderDb({ extraDir: FIXTURE_PROVIDERS_DIR });
}

/** Builds the app for app.inject tests: silent logs, test fixtures, no outbound network by default. */
export async function buildTestApp(
  overrides: Partial<Record<keyof Config, string>> = {},
  deps: Partial<AppDeps> = {},
): Promise<FastifyInstance> {
  const providerDb = deps.providerDb ?? (await loadTestProviderDb());
  const app = await buildApp(testConfig({ ISPDB_URL: '', ...overrides }), { ...deps, providerDb });
  await app.ready();
  return app;
}
