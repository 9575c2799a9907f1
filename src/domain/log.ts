import pino, { type Logger } from 'pino';

/** The logging the core needs; both pino and Fastify's logger satisfy it. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** A log line waits at most this long in the buffer of {@link createLogDestination}. */
export const LOG_FLUSH_INTERVAL_MS = 1000;

/**
 * Where the service's pino lines go (stdout in production): asynchronous, and buffered up to 4 KB
 * so that one line per request does not cost one write syscall (and one thread-pool round trip)
 * per request under load. A line waits at most LOG_FLUSH_INTERVAL_MS; pino flushes the buffer
 * when the process exits, and server.ts flushes it on SIGTERM.
 */
export function createLogDestination(dest: number | string) {
  return pino.destination({ dest, sync: false, minLength: 4096, periodicFlush: LOG_FLUSH_INTERVAL_MS });
}
