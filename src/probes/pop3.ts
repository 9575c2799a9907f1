import { excerpt, MAX_REPLY_LINES, readFailure, uniqueUpper, type Dialect, type Session, type StepResult } from './session.js';

/** Sends a command and reads its one-line status reply. */
async function command(session: Session, text: string): Promise<StepResult<{ ok: boolean; text: string }>> {
  session.write(text);
  const read = await session.read();
  if (!read.ok) return readFailure(read, `reply to ${text}`);
  if (/^\+OK\b/i.test(read.line)) return { ok: true, value: { ok: true, text: read.line } };
  if (/^-ERR\b/i.test(read.line)) return { ok: true, value: { ok: false, text: read.line } };
  return { ok: false, code: 'protocol_error', message: `not a POP3 reply to ${text}: ${excerpt(read.line)}` };
}

/** POP3 (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS): `+OK` greeting, CAPA, STLS, QUIT. */
export const pop3Dialect: Dialect = {
  protocol: 'pop3',

  async greeting(session) {
    const read = await session.read();
    if (!read.ok) return readFailure(read, 'POP3 greeting');
    if (/^\+OK\b/i.test(read.line)) return { ok: true, value: read.line };
    if (/^-ERR\b/i.test(read.line)) {
      return { ok: false, code: 'protocol_error', message: `the POP3 server refused the connection: ${excerpt(read.line)}` };
    }
    return { ok: false, code: 'protocol_error', message: `not a POP3 greeting: ${excerpt(read.line)}` };
  },

  async capabilities(session) {
    const status = await command(session, 'CAPA');
    if (!status.ok) return status;
    // A server from before RFC 2449 answers -ERR: it simply has no capability list.
    if (!status.value.ok) return { ok: true, value: [] };
    const lines: string[] = [];
    for (let i = 0; i < MAX_REPLY_LINES; i += 1) {
      const read = await session.read();
      if (!read.ok) return readFailure(read, 'CAPA list');
      if (read.line === '.') return { ok: true, value: uniqueUpper(lines) };
      lines.push(read.line.startsWith('..') ? read.line.slice(1) : read.line);
    }
    return { ok: false, code: 'protocol_error', message: `more than ${MAX_REPLY_LINES} lines in the CAPA list` };
  },

  async startTls(session) {
    const status = await command(session, 'STLS');
    if (!status.ok) return status;
    if (!status.value.ok) return { ok: false, code: 'starttls_unavailable', message: `the server declined STLS: ${excerpt(status.value.text)}` };
    return { ok: true, value: null };
  },

  async logout(session) {
    await command(session, 'QUIT');
  },

  offersStartTls: (capabilities) => capabilities.includes('STLS'),

  authMechanisms: (capabilities) =>
    uniqueUpper(capabilities.filter((line) => /^SASL\b/.test(line)).flatMap((line) => line.split(/\s+/).slice(1))),

  // USER/PASS sends the password in the clear; so do SASL PLAIN and LOGIN.
  offersPlaintextLogin: (capabilities) =>
    capabilities.includes('USER') || pop3Dialect.authMechanisms(capabilities).some((mechanism) => mechanism === 'PLAIN' || mechanism === 'LOGIN'),
};
