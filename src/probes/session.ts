import type { Protocol } from '../api/schemas.js';
import type { LineReader, ReadFailure, ReadResult } from './line-reader.js';

/** A failed dialog step, with the stable check code it maps to. */
export type StepFailure = { ok: false; code: 'protocol_error' | 'timeout' | 'starttls_unavailable'; message: string };

/** The outcome of one dialog step. Failures are values. */
export type StepResult<T> = { ok: true; value: T } | StepFailure;

/** The line-level channel a dialog talks over (swapped for the TLS one after STARTTLS). */
export interface Session {
  read(): Promise<ReadResult>;
  write(line: string): void;
  /** Name this client gives for itself where a protocol asks for one (SMTP EHLO). */
  readonly clientName: string;
}

/** One protocol's credential-free dialog: greeting, capabilities, STARTTLS, polite goodbye. */
export interface Dialect {
  protocol: Protocol;
  /** Reads and checks the greeting; returns it as the server sent it (first line). */
  greeting(session: Session): Promise<StepResult<string>>;
  /** Asks for capabilities; a server without a capability command gives an empty list, not a failure. */
  capabilities(session: Session): Promise<StepResult<string[]>>;
  /** Asks to upgrade to TLS; `starttls_unavailable` when the server declines. */
  startTls(session: Session): Promise<StepResult<null>>;
  /** Says goodbye (LOGOUT / QUIT); best effort, never fails the check. */
  logout(session: Session): Promise<void>;
  /** Whether the capabilities advertise the STARTTLS upgrade. */
  offersStartTls(capabilities: readonly string[]): boolean;
  /** SASL mechanisms (upper case) the capabilities advertise. */
  authMechanisms(capabilities: readonly string[]): string[];
  /** Whether these capabilities let a client send a password in the clear (on a plaintext channel). */
  offersPlaintextLogin(capabilities: readonly string[]): boolean;
}

/** Most bytes of one line the dialogs accept (IMAP capability lines can be long; SMTP's are ≤ 512). */
export const MAX_LINE_BYTES = 8 * 1024;
/** Most lines one multi-line reply may have. */
export const MAX_REPLY_LINES = 200;
/** Most bytes a server may send over one whole check. */
export const MAX_DIALOG_BYTES = 128 * 1024;

/** Maps a failed read to the step failure the check reports. */
export function readFailure(failure: ReadFailure, what: string): StepFailure {
  if (failure.reason === 'timeout' || failure.reason === 'aborted') {
    return { ok: false, code: 'timeout', message: `${what}: ${failure.message}` };
  }
  return { ok: false, code: 'protocol_error', message: `${what}: ${failure.message}` };
}

/**
 * An untrusted server string made printable ASCII: every control character (C0, DEL, C1) and any
 * other byte outside 0x20–0x7e becomes `?`. Security: greetings and capabilities are shown to
 * support staff and logged; escape sequences or CR/LF in them must not reach a terminal or a log line.
 */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

/** A short, printable excerpt of an untrusted server line for messages. */
export function excerpt(line: string, max = 120): string {
  const shown = printable(line);
  return shown.length > max ? `${shown.slice(0, max)}…` : shown;
}

/** Deduplicated upper-case tokens, order kept. */
export function uniqueUpper(tokens: Iterable<string>): string[] {
  return [...new Set([...tokens].map((token) => token.toUpperCase()).filter((token) => token.length > 0))];
}
