import net from 'node:net';
import type { Check, CheckErrorCode, Protocol } from '../api/schemas.js';
import type { ConnectBudget, Network } from '../net/connect.js';
import { upgradeToTls, type TlsInfo } from '../net/tls.js';
import { deadline } from './deadline.js';
import { imapDialect } from './imap.js';
import { LineReader } from './line-reader.js';
import { pop3Dialect } from './pop3.js';
import { MAX_DIALOG_BYTES, MAX_LINE_BYTES, printable, type Dialect, type Session } from './session.js';
import { smtpDialect } from './smtp.js';
import type { CheckTarget } from './types.js';

/** The dialog of each protocol. */
export const DIALECTS: Record<Protocol, Dialect> = { imap: imapDialect, pop3: pop3Dialect, smtp: smtpDialect };

/** Options of one live check. */
export interface CheckServerOptions {
  network: Network;
  /** Total time limit of the check, DNS to goodbye. */
  timeoutMs: number;
  /** Longest wait for any one reply (default: the smaller of 3 s and the total limit). */
  stepTimeoutMs?: number;
  signal?: AbortSignal;
  /** Extra trusted CAs (tests); production trusts the system store plus NODE_EXTRA_CA_CERTS. */
  extraCa?: readonly string[];
  /** Clock for certificate lifetimes (tests). */
  now?: () => number;
  /** Outbound budget the connection is counted against, by the address it uses (see Network.connect). */
  budget?: ConnectBudget;
}

/** A certificate expiring sooner than this many days is worth a warning. */
export const EXPIRY_WARNING_DAYS = 14;
/** The warning of a check whose server offers a password login before TLS (matched by audits). */
export const PLAINTEXT_LOGIN_WARNING = 'the server offers a password login before TLS';
/** Default longest wait for one reply. */
const DEFAULT_STEP_TIMEOUT_MS = 3_000;
/** Longest wait for the goodbye reply: a slow LOGOUT must not hold the answer. */
const LOGOUT_WAIT_MS = 500;

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * One credential-free live check: resolve and clear the host (Network), connect, then TLS at once
 * (`tls`) or greeting, capabilities and an upgrade (`starttls`) or greeting and capabilities only
 * (`none`), and a polite goodbye. It never authenticates. Every reply is bounded in size and time.
 * Never throws: every failure is a `Check` with `ok: false` and a stable `error.code`.
 */
export async function checkServer(target: CheckTarget, options: CheckServerOptions): Promise<Check> {
  const limit = deadline(options.timeoutMs, options.signal);
  try {
    return await runCheck(target, options, limit.signal);
  } finally {
    limit.dispose();
  }
}

/** A not-yet-successful check of the target with nothing learnt so far (the start of every check). */
export function emptyCheck(target: CheckTarget): Check {
  return {
    ok: false,
    host: target.host,
    port: target.port,
    protocol: target.protocol,
    security: target.security,
    address: null,
    ms: { dns: 0, connect: 0, tls: 0, total: 0 },
    greeting: '',
    capabilities: [],
    authMechanisms: [],
    starttls: false,
    tls: null,
    warnings: [],
  };
}

async function runCheck(target: CheckTarget, options: CheckServerOptions, signal: AbortSignal): Promise<Check> {
  const started = performance.now();
  const dialect = DIALECTS[target.protocol];
  const result = emptyCheck(target);
  const fail = (code: CheckErrorCode, message: string): Check => {
    result.ok = false;
    result.error = { code: signal.aborted && code !== 'forbidden_target' ? 'timeout' : code, message: signal.aborted ? timeoutMessage(options.timeoutMs, message) : message };
    result.ms.total = round(performance.now() - started);
    return result;
  };

  const connected = await options.network.connect({
    host: target.host,
    port: target.port,
    timeoutMs: options.timeoutMs,
    signal,
    ...(options.budget ? { budget: options.budget } : {}),
  });
  result.address = connected.address;
  result.ms.dns = connected.ms.dns;
  result.ms.connect = connected.ms.connect;
  if (!connected.ok) return fail(connected.code, connected.message);

  let socket: net.Socket = connected.socket;
  // Errors after a detach or during teardown must not become uncaught exceptions.
  socket.on('error', () => {});
  const sockets: net.Socket[] = [socket];
  const closeAll = () => sockets.forEach((open) => open.destroy());
  signal.addEventListener('abort', closeAll, { once: true });
  try {
    const readerOptions = { maxLineBytes: MAX_LINE_BYTES, maxTotalBytes: MAX_DIALOG_BYTES, stepTimeoutMs: options.stepTimeoutMs ?? Math.min(options.timeoutMs, DEFAULT_STEP_TIMEOUT_MS), signal };
    let trustProblem: { code: CheckErrorCode; message: string } | null = null;

    const handshake = async (): Promise<Check | null> => {
      const remaining = options.timeoutMs - (performance.now() - started);
      const secured = await upgradeToTls(socket, {
        servername: target.host,
        timeoutMs: Math.max(1, remaining),
        signal,
        ...(options.extraCa ? { extraCa: options.extraCa } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
      result.ms.tls = round(result.ms.tls + secured.ms);
      if (!secured.ok) return fail(secured.code, secured.message);
      socket = secured.socket;
      socket.on('error', () => {});
      sockets.push(socket);
      result.tls = tlsView(secured.info);
      trustProblem = secured.problem;
      return null;
    };

    if (target.security === 'tls') {
      const failed = await handshake();
      if (failed) return failed;
    }

    let reader = new LineReader(socket, readerOptions);
    const session: Session = {
      read: () => reader.readLine(),
      write: (line) => {
        socket.write(`${line}\r\n`);
      },
      clientName: addressLiteral(connected.socket.localAddress ?? '127.0.0.1'),
    };

    const greeting = await dialect.greeting(session);
    if (!greeting.ok) return fail(greeting.code, greeting.message);
    // Security: what the server says is shown and logged, so it is made printable (as error excerpts are).
    result.greeting = printable(greeting.value);

    let capabilities = await dialect.capabilities(session);
    if (!capabilities.ok) return fail(capabilities.code, capabilities.message);

    if (target.security !== 'tls') {
      result.starttls = dialect.offersStartTls(capabilities.value);
      if (dialect.offersPlaintextLogin(capabilities.value)) {
        result.warnings.push(PLAINTEXT_LOGIN_WARNING);
      }
    }
    if (target.security === 'none' && !result.starttls) {
      result.warnings.push('no STARTTLS on this plaintext port: passwords would cross the network unencrypted');
    }

    if (target.security === 'starttls') {
      const upgraded = await dialect.startTls(session);
      if (!upgraded.ok) return fail(upgraded.code, upgraded.message);
      // Security: bytes the server sent before the handshake must not be read as TLS-protected replies.
      const early = reader.detach();
      if (early.length > 0) return fail('protocol_error', 'the server sent data after accepting STARTTLS, before the TLS handshake');
      const failed = await handshake();
      if (failed) return failed;
      reader = new LineReader(socket, readerOptions);
      capabilities = await dialect.capabilities(session);
      if (!capabilities.ok) return fail(capabilities.code, capabilities.message);
    }

    result.capabilities = capabilities.value.map(printable);
    result.authMechanisms = dialect.authMechanisms(capabilities.value).map(printable);
    addTlsWarnings(result);

    // A polite goodbye, briefly: the check's answer does not depend on it.
    await Promise.race([dialect.logout(session), new Promise((resolve) => setTimeout(resolve, LOGOUT_WAIT_MS).unref())]);

    const problem = trustProblem as { code: CheckErrorCode; message: string } | null;
    if (problem) return fail(problem.code, problem.message);
    result.ok = true;
    result.ms.total = round(performance.now() - started);
    return result;
  } finally {
    signal.removeEventListener('abort', closeAll);
    closeAll();
  }
}

/** The client's own address as an RFC 5321 §4.1.3 address literal: `[192.0.2.1]`, `[IPv6:2001:db8::1]`. */
export function addressLiteral(address: string): string {
  return net.isIPv6(address) ? `[IPv6:${address}]` : `[${address}]`;
}

function timeoutMessage(timeoutMs: number, detail: string): string {
  return `the check did not finish within ${timeoutMs} ms (${detail})`;
}

function tlsView(info: TlsInfo): NonNullable<Check['tls']> {
  const view: NonNullable<Check['tls']> = {
    authorized: info.authorized,
    protocol: info.protocol,
    cipher: info.cipher,
    certificate: info.certificate,
  };
  if (info.error) view.error = info.error;
  return view;
}

function addTlsWarnings(result: Check): void {
  const session = result.tls;
  if (!session) return;
  if (session.protocol && /^(SSLv|TLSv1(\.[01])?$)/.test(session.protocol)) {
    result.warnings.push(`${session.protocol} is older than TLS 1.2`);
  }
  const daysLeft = session.certificate?.daysLeft;
  if (daysLeft !== undefined && daysLeft >= 0 && daysLeft < EXPIRY_WARNING_DAYS) {
    result.warnings.push(`the certificate expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'}`);
  }
}
