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

/**
 * Collects the log lines written during one turn of the event loop and passes them on as one
 * buffer of their UTF-8 bytes. Why: given strings, sonic-boom 4 measures the UTF-8 length of its
 * whole pending string on every write, which flattens (copies) it each time, and encodes it again
 * when it writes; with one line per request under load that was kilobytes of garbage per request
 * (npm run bench). Here each line is encoded once, into the turn's buffer, and sonic-boom (in
 * buffer mode) hands the buffers to the file as they are.
 */
export class LineBatcher implements DestinationStream {
  #lines: string[] = [];
  #bytes = 0;
  #scheduled = false;

  /** `fd` is the target's file descriptor, written to directly only by flushSync. */
  constructor(
    private readonly target: BatchTarget,
    private readonly fd: number,
  ) {}

  write(line: string): void {
    this.#lines.push(line);
    this.#bytes += Buffer.byteLength(line);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#drain);
  }

  /** Passes on what is collected, then lets the target finish writing. */
  flush(callback: (error?: Error) => void = () => {}): void {
    this.#drain();
    this.target.flush(callback);
  }

  /** Writes out everything, collected lines last, before returning (process exit). */
  flushSync(): void {
    this.#scheduled = false;
    this.target.flushSync();
    // Straight to the file descriptor: handed to the target, they would start an asynchronous
    // write that an exiting process may not wait for.
    const text = this.#lines.join('');
    this.#lines = [];
    this.#bytes = 0;
    if (text.length > 0) writeSync(this.fd, text);
  }

  readonly #drain = (): void => {
    this.#scheduled = false;
    if (this.#lines.length === 0) return;
    const bytes = Buffer.allocUnsafe(this.#bytes);
    let offset = 0;
    for (const line of this.#lines) offset += bytes.write(line, offset);
    this.#lines = [];
    this.#bytes = 0;
    this.target.write(bytes);
  };
}

/**
 * Where the service's pino lines go (stdout in production): batched per event-loop turn into
 * pino's asynchronous destination, so that one line per request costs neither a write syscall nor
 * a buffer copy per request. Lines still pending when the process exits are written out then;
 * server.ts also flushes on SIGTERM.
 */
export function createLogDestination(dest: number | string): LineBatcher {
  const fd = typeof dest === 'number' ? dest : openSync(dest, 'a');
  const batcher = new LineBatcher(pino.destination({ dest: fd, sync: false, contentMode: 'buffer' }), fd);
  process.once('exit', () => batcher.flushSync());
  return batcher;
}
