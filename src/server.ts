import { readFile } from 'node:fs/promises';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config/env.js';
import { createLogDestination } from './logging/log.js';
import { ProviderDbError, loadProviderDb } from './provider-db/provider-db.js';
import { ServeConfigError } from './serve/profile-signer.js';
import { pinTickObjectShape } from './tick-object-pin.js';

/** The TLS pair of TLS_CERT_FILE/TLS_KEY_FILE, read once at start-up; undefined when unset (plain HTTP). */
async function readTlsPair(config: Config): Promise<{ key: string; cert: string } | undefined> {
  if (!config.TLS_CERT_FILE) return undefined;
  const read = async (name: 'TLS_CERT_FILE' | 'TLS_KEY_FILE') => {
    try {
      return await readFile(config[name], 'utf8');
    } catch (error) {
      throw new ConfigError(`${name}: cannot read ${config[name]}: ${(error as Error).message}`);
    }
  };
  return { cert: await read('TLS_CERT_FILE'), key: await read('TLS_KEY_FILE') };
}

/** Starts the service: parse configuration, load providers, listen; drain and exit on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  pinTickObjectShape();
  const logStream = createLogDestination(1);
  let app;
  let config;
  let providerDb;
  try {
    config = loadConfig();
    providerDb = await loadProviderDb({ extraDir: config.PROVIDERS_DIR || undefined });
    const https = await readTlsPair(config);
    app = await buildApp(config, { providerDb, logStream, ...(https ? { https } : {}) });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof ProviderDbError || error instanceof ServeConfigError) {
      process.stderr.write(`mailsettings: cannot start.\n${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
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
  app.log.info({ providers: providerDb.all().length, domains: providerDb.domainCount, served: config.SERVE_DOMAINS }, 'provider database loaded');
}

await main();
