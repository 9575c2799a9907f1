import type net from 'node:net';
import { upgradeToTls, type TlsOptions, type TlsResult } from '../net/tls.js';
import { LineReader, type LineReaderOptions } from './line-reader.js';
import type { Session } from './session.js';

/** Why securing a channel failed: the TLS failure, or server bytes sent ahead of the handshake. */
export type SecureFailure = Extract<TlsResult, { ok: false }> | { ok: false; code: 'protocol_error'; message: string; ms: number };

/**
 * A probe's connection: the socket and the line reader on it, always changed together. TLS (at
 * once on an implicit-TLS port, or after the server accepted STARTTLS) is the one step that swaps
 * both, so no dialog can read the plaintext socket once TLS is on, nor the TLS one through a stale reader.
 */
export class ProbeChannel implements Session {
  #socket: net.Socket;
  #reader: LineReader | null = null;
  readonly #opened: net.Socket[] = [];

  constructor(
    socket: net.Socket,
    private readonly readerOptions: LineReaderOptions,
    /** Name this client gives for itself (SMTP EHLO): its own address as a literal. */
    readonly clientName: string,
  ) {
    this.#socket = this.#adopt(socket);
  }

  read(): ReturnType<LineReader['readLine']> {
    this.#reader ??= new LineReader(this.#socket, this.readerOptions);
    return this.#reader.readLine();
  }

  write(line: string): void {
    this.#socket.write(`${line}\r\n`);
  }

  /**
   * Runs the TLS handshake on the current socket and, when it completes, swaps the socket and starts
   * a new reader on the TLS one. Security: bytes the server sent before the handshake (after accepting
   * STARTTLS) must not be read as TLS-protected replies, so they fail the step (RFC 3207 §4, RFC 2595 §3.1).
   */
  async secure(options: TlsOptions): Promise<Extract<TlsResult, { ok: true }> | SecureFailure> {
    const early = this.#reader?.detach() ?? Buffer.alloc(0);
    this.#reader = null;
    if (early.length > 0) return { ok: false, code: 'protocol_error', message: 'the server sent data after accepting STARTTLS, before the TLS handshake', ms: 0 };
    const secured = await upgradeToTls(this.#socket, options);
    if (secured.ok) this.#socket = this.#adopt(secured.socket);
    return secured;
  }

  /** Closes every socket the channel used (the plaintext one and the TLS one on top of it). */
  close(): void {
    for (const socket of this.#opened) socket.destroy();
  }

  #adopt(socket: net.Socket): net.Socket {
    // Errors after a detach or during teardown must not become uncaught exceptions.
    socket.on('error', () => {});
    this.#opened.push(socket);
    return socket;
  }
}
