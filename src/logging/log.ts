import { openSync, writeSync } from 'node:fs';
import pino, { type DestinationStream, type Logger } from 'pino';

/** The logging the core needs; both pino and Fastify's logger satisfy it. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

declare module 'sonic-boom' {
  interface SonicBoom {
    /** In `contentMode: 'buffer'` sonic-boom writes buffers (its types list only the string form). */
    write(bytes: Buffer): boolean;
  }
}

/** The part of pino's asynchronous destination (sonic-boom, in buffer mode) a {@link LineBatcher} writes to. */
export interface BatchTarget {
  write(bytes: Buffer): unknown;
  flush(callback?: (error?: Error) => void): void;
  flushSync(): void;
}

/** How long a log line waits at most before it is passed on, and how many bytes pass it on at once. */
export const LOG_BATCH_INTERVAL_MS = 20;
export const LOG_BATCH_MAX_BYTES = 64 * 1024;

/**
 * Collects log lines for up to {@link LOG_BATCH_INTERVAL_MS} (or {@link LOG_BATCH_MAX_BYTES}) and
 * passes them on as one buffer of their UTF-8 bytes. Why: every write to pino's asynchronous
 * destination is a round trip through libuv's thread pool (a worker woken, the file written, the
 * loop woken); written every event-loop turn, a turn held a request or two under load, so there
 * was close to one round trip per request. And given strings,
 * sonic-boom 4 measures and flattens its whole pending string on every write and encodes it again
 * when writing: here each line is encoded once, into the batch's buffer, as it is written (no line
 * string survives to a garbage collection), and sonic-boom (in buffer mode) hands the buffers to
 * the file as they are.
 */
export class LineBatcher implements DestinationStream {
  /** The batch's bytes so far: each line is encoded into it as it comes, so no line string outlives its write. */
  #chunk = Buffer.allocUnsafe(LOG_BATCH_MAX_BYTES);
  #used = 0;
  #timer: NodeJS.Timeout | null = null;

  /** `fd` is the target's file descriptor, written to directly only by flushSync. */
  constructor(
    private readonly target: BatchTarget,
    private readonly fd: number,
  ) {}

  write(line: string): void {
    const length = Buffer.byteLength(line);
    if (this.#used + length > this.#chunk.length) this.#drain();
    if (length > this.#chunk.length) {
      // A line longer than a whole batch goes on by itself.
      this.target.write(Buffer.from(line));
      return;
    }
    this.#used += this.#chunk.write(line, this.#used);
    if (this.#timer !== null) return;
    // Unreferenced: a pending batch never keeps the process alive (exit writes it, see flushSync).
    this.#timer = setTimeout(this.#drain, LOG_BATCH_INTERVAL_MS).unref();
  }

  /** Passes on what is collected, then lets the target finish writing. */
  flush(callback: (error?: Error) => void = () => {}): void {
    this.#drain();
    this.target.flush(callback);
  }

  /** Writes out everything, collected lines last, before returning (process exit). */
  flushSync(): void {
    this.#cancelTimer();
    this.target.flushSync();
    // Straight to the file descriptor: handed to the target, they would start an asynchronous
    // write that an exiting process may not wait for.
    const pending = this.#take();
    if (pending !== null) writeSync(this.fd, pending);
  }

  #cancelTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** The batch's bytes, if any, leaving a new chunk behind (the target keeps the old one until written). */
  #take(): Buffer | null {
    if (this.#used === 0) return null;
    const bytes = this.#chunk.subarray(0, this.#used);
    this.#chunk = Buffer.allocUnsafe(LOG_BATCH_MAX_BYTES);
    this.#used = 0;
    return bytes;
  }

  readonly #drain = (): void => {
    this.#cancelTimer();
    const bytes = this.#take();
    if (bytes !== null) this.target.write(bytes);
  };
}

/**
 * Where the service's pino lines go (stdout in production): batched (LineBatcher) into pino's
 * asynchronous destination, so that one line per request costs neither a write syscall nor
 * a buffer copy per request. Lines still pending when the process exits are written out then;
 * server.ts also flushes on SIGTERM.
 */
export function createLogDestination(dest: number | string): LineBatcher {
  const fd = typeof dest === 'number' ? dest : openSync(dest, 'a');
  const batcher = new LineBatcher(pino.destination({ dest: fd, sync: false, contentMode: 'buffer' }), fd);
  process.once('exit', () => batcher.flushSync());
  return batcher;
}
