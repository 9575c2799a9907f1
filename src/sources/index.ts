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
  providerDb: ProviderDb;
  /** Bases of the central ISPDB (ISPDB_URLS), asked in order when one fails; empty skips it. */
  ispdbUrls: readonly string[];
  /** Time limit of one guessing probe, in ms. */
  guessTimeoutMs: number;
  network: Network;
  /** Runs guessing's probes under the live checker's budgets (the service's LiveChecker). */
  prober: Prober;
  /** The fetcher of every HTTP source (see createHttpClient). */
  http: HttpClient;
}

/** Options of the service's HTTP client. */
export interface HttpClientOptions {
  /** Total time limit of one fetch (HTTP_TIMEOUT_MS). */
  timeoutMs: number;
  /** ISPDB_URLS: a base on another port than 80/443 allows that port too. */
  ispdbUrls: readonly string[];
  /** Extra CA certificates (tests); production uses the system store. */
  ca?: string;
}

/** Creates the service's HTTP client: total timeout from HTTP_TIMEOUT_MS, the ISPDB port allowed. */
export function createHttpClient(network: Network, options: HttpClientOptions): HttpClient {
  const ports = [80, 443];
  for (const base of options.ispdbUrls) {
    const url = new URL(base);
    if (url.port) ports.push(Number(url.port));
  }
  return new HttpClient({ network, timeoutMs: options.timeoutMs, allowedPorts: ports, ...(options.ca ? { ca: options.ca } : {}) });
}

/** The sources a lookup consults, one per row of SOURCE_TABLE (which holds their ranks; the resolver orders them). */
export function createDefaultSources(deps: SourceDeps): Source[] {
  const http = deps.http;
  const dns = deps.network.dns;
  return [
    createProviderDbSource(deps.providerDb),
    createAutoconfigSource(http),
    createWellKnownAutoconfigSource(http),
    createPaccSource({ http, dns }),
    createAutodiscoverSource({ http, dns }),
    createIspdbSource(http, deps.ispdbUrls),
    createSrvSource(dns),
    createMxSource({ dns, providerDb: deps.providerDb, http, ispdbUrls: deps.ispdbUrls }),
    createHttpAutoconfigSource(http),
    createJmapSource({ http, dns }),
    createGuessSource({ network: deps.network, checker: deps.prober, timeoutMs: deps.guessTimeoutMs }),
  ];
}
