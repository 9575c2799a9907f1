import type { Config } from '../config/env.js';
import type { Network } from '../net/connect.js';
import { HttpClient } from '../net/http.js';
import type { Prober } from '../probes/types.js';
import type { ProviderDb } from '../provider-db/provider-db.js';
import { createAutoconfigSource, createWellKnownAutoconfigSource } from './autoconfig.js';
import { createAutodiscoverSource } from './autodiscover.js';
import { createGuessSource } from './guess.js';
import { createHttpAutoconfigSource } from './http-autoconfig.js';
import { createIspdbSource } from './ispdb.js';
import { createJmapSource } from './jmap.js';
import { createMxSource } from './mx.js';
import { createPaccSource } from './pacc.js';
import { createProviderDbSource } from './provider-db.js';
import { createSrvSource } from './srv.js';
import type { Source } from './types.js';

/** What the default sources need. */
export interface SourceDeps {
  config: Config;
  providerDb: ProviderDb;
  network: Network;
  /** Runs guessing's probes under the live checker's budgets (the service's LiveChecker). */
  prober: Prober;
  /** The fetcher for autoconfig and ISPDB; made from config and network when absent. */
  http?: HttpClient;
}

/** Creates the service's HTTP client: total timeout from HTTP_TIMEOUT_MS, the ISPDB port allowed. */
export function createHttpClient(config: Config, network: Network, extra: { ca?: string } = {}): HttpClient {
  const ports = [80, 443];
  for (const base of config.ISPDB_URLS) {
    const url = new URL(base);
    if (url.port) ports.push(Number(url.port));
  }
  return new HttpClient({ network, timeoutMs: config.HTTP_TIMEOUT_MS, allowedPorts: ports, ...(extra.ca ? { ca: extra.ca } : {}) });
}

/** The sources a lookup consults, one per row of SOURCE_TABLE (which holds their ranks; the resolver orders them). */
export function createDefaultSources(deps: SourceDeps): Source[] {
  const http = deps.http ?? createHttpClient(deps.config, deps.network);
  const dns = deps.network.dns;
  return [
    createProviderDbSource(deps.providerDb),
    createAutoconfigSource(http),
    createWellKnownAutoconfigSource(http),
    createPaccSource({ http, dns }),
    createAutodiscoverSource({ http, dns }),
    createIspdbSource(http, deps.config.ISPDB_URLS),
    createSrvSource(dns),
    createMxSource({ dns, providerDb: deps.providerDb, http, ispdbUrls: deps.config.ISPDB_URLS }),
    createHttpAutoconfigSource(http),
    createJmapSource({ http, dns }),
    createGuessSource({ network: deps.network, checker: deps.prober, timeoutMs: Math.min(deps.config.CHECK_TIMEOUT_MS, 3_000) }),
  ];
}
