import net from 'node:net';
import type { Check, CheckErrorCode, Protocol } from '../api/schemas.js';
import type { ConnectBudget, Network } from '../net/connect.js';
import type { TlsInfo } from '../net/tls.js';
import { ProbeChannel } from './channel.js';
import { deadline } from './deadline.js';
import { imapDialect } from './imap.js';
import { pop3Dialect } from './pop3.js';
import { MAX_DIALOG_BYTES, MAX_LINE_BYTES, printable, type Dialect } from './session.js';
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

/** What a check has learnt so far, and how it ends (a failure keeps what was learnt). */
interface CheckState {
  result: Check;
  started: number;
  signal: AbortSignal;
  options: CheckServerOptions;
}

function failCheck(state: CheckState, code: CheckErrorCode, message: string): Check {
  const { result, signal, options } = state;
  result.ok = false;
  result.error = { code: signal.aborted && code !== 'forbidden_target' ? 'timeout' : code, message: signal.aborted ? timeoutMessage(options.timeoutMs, message) : message };
  result.ms.total = round(performance.now() - state.started);
  return result;
}

async function runCheck(target: CheckTarget, options: CheckServerOptions, signal: AbortSignal): Promise<Check> {
  const state: CheckState = { result: emptyCheck(target), started: performance.now(), signal, options };
  const { result } = state;
  const connected = await options.network.connect({ host: target.host, port: target.port, timeoutMs: options.timeoutMs, signal, budget: options.budget });
  result.address = connected.address;
  result.ms.dns = connected.ms.dns;
  result.ms.connect = connected.ms.connect;
  if (!connected.ok) return failCheck(state, connected.code, connected.message);

  const stepTimeoutMs = options.stepTimeoutMs ?? Math.min(options.timeoutMs, DEFAULT_STEP_TIMEOUT_MS);
  const channel = new ProbeChannel(
    connected.socket,
    { maxLineBytes: MAX_LINE_BYTES, maxTotalBytes: MAX_DIALOG_BYTES, stepTimeoutMs, signal },
    addressLiteral(connected.socket.localAddress ?? '127.0.0.1'),
  );
  const close = () => channel.close();
  signal.addEventListener('abort', close, { once: true });
  try {
    return await runDialog(target, channel, state);
  } finally {
    signal.removeEventListener('abort', close);
    close();
  }
}

/** The credential-free dialog over a connected channel: TLS first or after STARTTLS, capabilities, goodbye. */
async function runDialog(target: CheckTarget, channel: ProbeChannel, state: CheckState): Promise<Check> {
  const { result, options } = state;
  const dialect = DIALECTS[target.protocol];
  let trustProblem: { code: CheckErrorCode; message: string } | null = null;
  const secure = async (): Promise<Check | null> => {
    const remaining = options.timeoutMs - (performance.now() - state.started);
    const secured = await channel.secure({ servername: target.host, timeoutMs: Math.max(1, remaining), signal: state.signal, extraCa: options.extraCa, now: options.now });
    result.ms.tls = round(result.ms.tls + secured.ms);
    if (!secured.ok) return failCheck(state, secured.code, secured.message);
    result.tls = tlsView(secured.info);
    trustProblem = secured.problem;
    return null;
  };

  if (target.security === 'tls') {
    const failed = await secure();
    if (failed) return failed;
  }
  const greeting = await dialect.greeting(channel);
  if (!greeting.ok) return failCheck(state, greeting.code, greeting.message);
  // Security: what the server says is shown and logged, so it is made printable (as error excerpts are).
  result.greeting = printable(greeting.value);

  let capabilities = await dialect.capabilities(channel);
  if (!capabilities.ok) return failCheck(state, capabilities.code, capabilities.message);
  if (target.security !== 'tls') notePlaintextCapabilities(result, dialect, capabilities.value);

  if (target.security === 'starttls') {
    const upgraded = await dialect.startTls(channel);
    if (!upgraded.ok) return failCheck(state, upgraded.code, upgraded.message);
    const failed = await secure();
    if (failed) return failed;
    capabilities = await dialect.capabilities(channel);
    if (!capabilities.ok) return failCheck(state, capabilities.code, capabilities.message);
  }

  result.capabilities = capabilities.value.map(printable);
  result.authMechanisms = dialect.authMechanisms(capabilities.value).map(printable);
  addTlsWarnings(result);
  // A polite goodbye, briefly: the check's answer does not depend on it.
  await Promise.race([dialect.logout(channel), new Promise((resolve) => setTimeout(resolve, LOGOUT_WAIT_MS).unref())]);

  const problem = trustProblem as { code: CheckErrorCode; message: string } | null;
  if (problem) return failCheck(state, problem.code, problem.message);
  result.ok = true;
  result.ms.total = round(performance.now() - state.started);
  return result;
}

/** What the capabilities on the plaintext channel say about STARTTLS and passwords in the clear. */
function notePlaintextCapabilities(result: Check, dialect: Dialect, capabilities: readonly string[]): void {
  result.starttls = dialect.offersStartTls(capabilities);
  if (dialect.offersPlaintextLogin(capabilities)) result.warnings.push(PLAINTEXT_LOGIN_WARNING);
  if (result.security === 'none' && !result.starttls) {
    result.warnings.push('no STARTTLS on this plaintext port: passwords would cross the network unencrypted');
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
