import type { Duplex } from 'node:stream';

/** Why a read ended without a line. Failures are values, never exceptions. */
export type ReadFailure = {
  ok: false;
  /** `timeout`: no line in time; `closed`: peer closed or reset; `too_long`: a line or the dialog exceeded its cap. */
  reason: 'timeout' | 'closed' | 'too_long' | 'aborted';
  message: string;
};

/** One line read from the peer (without CR LF), or why there is none. */
export type ReadResult = { ok: true; line: string } | ReadFailure;

/** Bounds of a line reader. */
export interface LineReaderOptions {
  /** Longest accepted line in bytes, terminator included. */
  maxLineBytes: number;
  /** Most bytes the peer may send over this reader's whole life (a server that streams forever is cut off). */
  maxTotalBytes: number;
  /** Longest wait for one line (a server that never speaks is cut off). */
  stepTimeoutMs: number;
  /** Aborts every pending and later read (the total time limit of the dialog). */
  signal?: AbortSignal;
}

/**
 * Reads CRLF (or LF) terminated lines from a socket with hard bounds on line size, total bytes and
 * time. Security: the peer is an arbitrary server named by untrusted input, so nothing it sends is
 * buffered without limit and no read waits without limit.
 */
export class LineReader {
  readonly #socket: Duplex;
  readonly #options: LineReaderOptions;
  #buffer: Buffer = Buffer.alloc(0);
  #received = 0;
  #ended: ReadFailure | null = null;
  #waiter: (() => void) | null = null;
  #detached = false;

  readonly #onData = (chunk: Buffer) => {
    this.#received += chunk.length;
    if (this.#received > this.#options.maxTotalBytes) {
      this.#fail({ ok: false, reason: 'too_long', message: `the server sent more than ${this.#options.maxTotalBytes} bytes` });
      this.#socket.destroy();
      return;
    }
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    // An unterminated line longer than the cap can never become valid: stop reading at once.
    if (this.#buffer.indexOf(0x0a) < 0 && this.#buffer.length > this.#options.maxLineBytes) {
      this.#fail({ ok: false, reason: 'too_long', message: `the server sent a line longer than ${this.#options.maxLineBytes} bytes` });
      this.#socket.destroy();
      return;
    }
    this.#wake();
  };
  readonly #onEnd = () => this.#fail({ ok: false, reason: 'closed', message: 'the server closed the connection' });
  readonly #onError = (error: NodeJS.ErrnoException) =>
    this.#fail({ ok: false, reason: 'closed', message: `connection error: ${error.code ?? error.message}` });
  readonly #onAbort = () => this.#fail({ ok: false, reason: 'aborted', message: 'the check ran out of time' });

  constructor(socket: Duplex, options: LineReaderOptions) {
    this.#socket = socket;
    this.#options = options;
    socket.on('data', this.#onData);
    socket.once('end', this.#onEnd);
    socket.once('close', this.#onEnd);
    socket.on('error', this.#onError);
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (options.signal?.aborted) this.#onAbort();
  }

  /** Bytes received so far. */
  get received(): number {
    return this.#received;
  }

  /** Reads the next line; bounded by the step timeout, the caps and the signal. */
  async readLine(): Promise<ReadResult> {
    if (this.#detached) return { ok: false, reason: 'closed', message: 'reader detached' };
    const deadline = performance.now() + this.#options.stepTimeoutMs;
    for (;;) {
      const newline = this.#buffer.indexOf(0x0a);
      if (newline >= 0) {
        if (newline + 1 > this.#options.maxLineBytes) {
          return { ok: false, reason: 'too_long', message: `the server sent a line longer than ${this.#options.maxLineBytes} bytes` };
        }
        const raw = this.#buffer.subarray(0, newline);
        this.#buffer = this.#buffer.subarray(newline + 1);
        const text = raw.toString('latin1');
        return { ok: true, line: text.endsWith('\r') ? text.slice(0, -1) : text };
      }
      if (this.#ended) return this.#ended;
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        return { ok: false, reason: 'timeout', message: `no complete line from the server within ${this.#options.stepTimeoutMs} ms` };
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#waiter = null;
          resolve();
        }, remaining);
        this.#waiter = () => {
          clearTimeout(timer);
          this.#waiter = null;
          resolve();
        };
      });
    }
  }

  /**
   * Stops reading from the socket (before a STARTTLS upgrade) and returns what was buffered but not
   * read. Security: anything buffered here arrived before the TLS handshake and must be discarded,
   * never treated as a reply from the encrypted session (STARTTLS command injection, CVE-2011-0411).
   */
  detach(): Buffer {
    this.#detached = true;
    this.#socket.removeListener('data', this.#onData);
    this.#socket.removeListener('end', this.#onEnd);
    this.#socket.removeListener('close', this.#onEnd);
    this.#socket.removeListener('error', this.#onError);
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    const rest = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    this.#wake();
    return rest;
  }

  #fail(failure: ReadFailure): void {
    if (!this.#ended) this.#ended = failure;
    this.#wake();
  }

  #wake(): void {
    this.#waiter?.();
  }
}
