import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { startService } from './service-process.js';

/** One service process (src/server.ts, as `npm start` runs it without the build step). */
export interface Replica {
  url: string;
  address: string;
  port: number;
  child: ChildProcess;
  output(): string;
  /** Resolves when the replica has printed a line matching `pattern` (an event: no polling); rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts one replica on address:port with the given environment, through the one service spawner
 * (which leaves load shedding off: these tests are about sharing, and a busy test machine's
 * event-loop delay is not the overload shedding is for); resolves once it listens.
 */
export async function startReplica(address: string, port: number, env: Record<string, string>): Promise<Replica> {
  const service = await startService({ HOST: address, PORT: String(port), ...env });
  return {
    url: service.url,
    address,
    port,
    child: service.child,
    output: () => service.output.all(),
    waitFor: async (pattern, timeoutMs = 10_000) => {
      await service.output.waitFor(pattern, { timeoutMs });
    },
    stop: async () => {
      await service.stop();
    },
  };
}

/** A GET with an optional client (source) address; resolves with status and body text. */
export function get(base: string, path: string, localAddress?: string, timeoutMs = 20_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${base}${path}`, { agent: false, timeout: timeoutMs, ...(localAddress ? { localAddress } : {}) }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on('error', reject);
  });
}
