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

/** Why a connection was counted: over the per-client cap, over the server-wide cap, or too slow. */
type RefusalReason = 'perClient' | 'serverFull' | 'timedOut';

/** Counts refused and timed-out connections and writes one warning per interval with the counts. */
class RefusalReport {
  readonly #counts: Record<RefusalReason, number> = { perClient: 0, serverFull: 0, timedOut: 0 };
  readonly #clients = new Set<string>();
  readonly #log: WarnLog;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(log: WarnLog, intervalMs: number) {
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  /**
   * Counts one event. The first event opens an interval; its line is written when the interval
   * ends, so a steady flood gives exactly one line per interval and a quiet server none.
   */
  note(reason: RefusalReason, key: string): void {
    this.#counts[reason] += 1;
    if (this.#clients.size < MAX_TRACKED_CLIENTS) this.#clients.add(key);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Writes the interval's warning, if anything was counted, and starts from zero. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const { perClient, serverFull, timedOut } = this.#counts;
    if (perClient + serverFull + timedOut === 0) return;
    this.#log.warn(
      { refused: { perClient, serverFull }, timedOut, clients: this.#clients.size, intervalMs: this.#intervalMs },
      'connections refused',
    );
    this.#counts.perClient = 0;
    this.#counts.serverFull = 0;
    this.#counts.timedOut = 0;
    this.#clients.clear();
  }
}

/** A `connection` listener that keeps each client to `perClientMax` open sockets, destroying the excess. */
function capPerClient(perClientMax: number, report: RefusalReport): (socket: Socket) => void {
  const open = new Map<string, number>();
  return (socket) => {
    if (perClientMax <= 0) return;
    const key = clientKey(socket.remoteAddress);
    const held = open.get(key) ?? 0;
    if (held >= perClientMax) {
      report.note('perClient', key);
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
}

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
  const report = new RefusalReport(options.log, options.logIntervalMs);
  const onConnection = capPerClient(options.perClientMax, report);
  const onDrop = (data?: { remoteAddress?: string }) => report.note('serverFull', clientKey(data?.remoteAddress));
  const onClientError = (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') report.note('timedOut', clientKey(socket.remoteAddress));
  };

  server.on('connection', onConnection);
  server.on('drop', onDrop);
  server.on('clientError', onClientError);
  return {
    stop() {
      server.off('connection', onConnection);
      server.off('drop', onDrop);
      server.off('clientError', onClientError);
      report.flush();
    },
  };
}
