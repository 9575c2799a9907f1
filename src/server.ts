import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/env.js';
import { createLogDestination } from './logging/log.js';
import { ProviderDbError, loadProviderDb } from './provider-db/provider-db.js';

/** Starts the service: parse configuration, load providers, listen; drain and exit on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  let providerDb;
  try {
    config = loadConfig();
    providerDb = await loadProviderDb({ extraDir: config.PROVIDERS_DIR || undefined });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof ProviderDbError) {
      process.stderr.write(`mailsettings: cannot start.\n${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logStream = createLogDestination(1);
  const app = await buildApp(config, { providerDb, logStream });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await app.close();
    await new Promise<void>((resolve) => logStream.flush(() => resolve()));
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  await app.listen({ port: config.PORT, host: config.HOST });
  app.log.info({ providers: providerDb.all().length, domains: providerDb.domainCount }, 'provider database loaded');
}

await main();
