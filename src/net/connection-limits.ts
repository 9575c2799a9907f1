import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { clientKey } from './client-key.js';

/** Default interval of the refused-connections warning: soon enough to notice, calm under a flood. */
export const CONNECTION_LOG_INTERVAL_MS = 10_000;

/** Where the warning goes (the app's logger). */
interface WarnLog {
  warn(object: object, message: string): void;
}

/** Options of the per-client connection cap and its warning. */
export interface ConnectionLimitOptions {
  /** Connections one client (clientKey of the peer) may hold open at once; 0 turns the cap off. */
  perClientMax: number;
  /** At most one warning per this many ms, with the counts of the interval. */
  logIntervalMs: number;
  log: WarnLog;
}

/** Distinct refused clients remembered per interval, for the warning's count only (never logged). */
const MAX_TRACKED_CLIENTS = 10_000;

/**
 * Caps the connections each client holds open and reports what the server refused or timed out.
 * Security: a socket that waits for its request holds a file descriptor; without a cap one client
 * opening thousands of half-sent requests runs the process out of descriptors and every other
 * client gets ECONNRESET. An excess socket is destroyed in the `connection` event, before a byte
 * of it is read (no response is written, which would cost more than the refusal). Refusals over
 * the server-wide cap (`server.maxConnections`, which Node enforces before `connection`) arrive as
 * `drop` events; requests whose headers or body come too slowly (headersTimeout, requestTimeout)
 * as `clientError` with ERR_HTTP_REQUEST_TIMEOUT. All are counted into one warning per interval,
 * never a line per socket (a flood must not become a flood of log lines). Privacy: counts only,
 * never an address.
 */
export function limitConnections(server: Server, options: ConnectionLimitOptions): { stop(): void } {
  const open = new Map<string, number>();
  const counts = { perClient: 0, serverFull: 0, timedOut: 0 };
  const clients = new Set<string>();
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    timer = undefined;
    const { perClient, serverFull, timedOut } = counts;
    if (perClient + serverFull + timedOut === 0) return;
    options.log.warn(
      { refused: { perClient, serverFull }, timedOut, clients: clients.size, intervalMs: options.logIntervalMs },
      'connections refused',
    );
    counts.perClient = 0;
    counts.serverFull = 0;
    counts.timedOut = 0;
    clients.clear();
  };
  // The first event opens an interval; its line is written when the interval ends, so a steady
  // flood gives exactly one line per interval and a quiet server none.
  const note = (reason: keyof typeof counts, key: string) => {
    counts[reason] += 1;
    if (clients.size < MAX_TRACKED_CLIENTS) clients.add(key);
    if (timer === undefined) {
      timer = setTimeout(flush, options.logIntervalMs);
      timer.unref();
    }
  };

  const onConnection = (socket: Socket) => {
    if (options.perClientMax <= 0) return;
    const key = clientKey(socket.remoteAddress);
    const held = open.get(key) ?? 0;
    if (held >= options.perClientMax) {
      note('perClient', key);
      socket.destroy();
      return;
    }
    open.set(key, held + 1);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left <= 0) open.delete(key);
      else open.set(key, left);
    });
  };
  const onDrop = (data?: { remoteAddress?: string }) => note('serverFull', clientKey(data?.remoteAddress));
  const onClientError = (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') note('timedOut', clientKey(socket.remoteAddress));
  };

  server.on('connection', onConnection);
  server.on('drop', onDrop);
  server.on('clientError', onClientError);
  return {
    stop() {
      server.off('connection', onConnection);
      server.off('drop', onDrop);
      server.off('clientError', onClientError);
      if (timer !== undefined) clearTimeout(timer);
      flush();
    },
  };
}
