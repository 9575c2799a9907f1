import { excerpt, MAX_REPLY_LINES, readFailure, uniqueUpper, type Dialect, type Session, type StepResult } from './session.js';

/** One SMTP reply: its code and text lines (RFC 5321 §4.2). */
interface Reply {
  code: number;
  lines: string[];
}

/** Reads a possibly multi-line reply (`250-…` lines ending with `250 …`), bounded in lines. */
async function readReply(session: Session, what: string): Promise<StepResult<Reply>> {
  const lines: string[] = [];
  let code: string | null = null;
  for (let i = 0; i < MAX_REPLY_LINES; i += 1) {
    const read = await session.read();
    if (!read.ok) return readFailure(read, what);
    const match = /^(\d{3})([ -]|$)(.*)$/.exec(read.line);
    if (!match || (code !== null && match[1] !== code)) {
      return { ok: false, code: 'protocol_error', message: `not an SMTP reply (${what}): ${excerpt(read.line)}` };
    }
    code = match[1] ?? '';
    lines.push(match[3] ?? '');
    if (match[2] !== '-') return { ok: true, value: { code: Number(code), lines } };
  }
  return { ok: false, code: 'protocol_error', message: `more than ${MAX_REPLY_LINES} lines in the SMTP reply (${what})` };
}

async function command(session: Session, text: string): Promise<StepResult<Reply>> {
  session.write(text);
  return readReply(session, `reply to ${text.split(' ')[0] ?? text}`);
}

/** SMTP submission (RFC 5321, RFC 6409, RFC 3207 STARTTLS): 220 greeting, EHLO, STARTTLS, QUIT. */
export const smtpDialect: Dialect = {
  protocol: 'smtp',

  async greeting(session) {
    const reply = await readReply(session, 'SMTP greeting');
    if (!reply.ok) return reply;
    const first = `${reply.value.code} ${reply.value.lines[0] ?? ''}`.trim();
    if (reply.value.code !== 220) {
      return { ok: false, code: 'protocol_error', message: `the SMTP server refused the connection: ${excerpt(first)}` };
    }
    return { ok: true, value: first };
  },

  async capabilities(session) {
    const ehlo = await command(session, `EHLO ${session.clientName}`);
    if (!ehlo.ok) return ehlo;
    if (ehlo.value.code === 250) return { ok: true, value: uniqueUpper(ehlo.value.lines.slice(1).map((line) => line.trim())) };
    // An old server without ESMTP: HELO still proves it speaks SMTP, it just has no extensions.
    const helo = await command(session, `HELO ${session.clientName}`);
    if (!helo.ok) return helo;
    if (helo.value.code === 250) return { ok: true, value: [] };
    return { ok: false, code: 'protocol_error', message: `EHLO and HELO refused: ${helo.value.code} ${excerpt(helo.value.lines[0] ?? '')}` };
  },

  async startTls(session) {
    const reply = await command(session, 'STARTTLS');
    if (!reply.ok) return reply;
    if (reply.value.code !== 220) {
      return { ok: false, code: 'starttls_unavailable', message: `the server declined STARTTLS: ${reply.value.code} ${excerpt(reply.value.lines[0] ?? '')}` };
    }
    return { ok: true, value: null };
  },

  async logout(session) {
    await command(session, 'QUIT');
  },

  offersStartTls: (capabilities) => capabilities.includes('STARTTLS'),

  // `AUTH PLAIN LOGIN` (RFC 4954) and the pre-standard `AUTH=PLAIN LOGIN` some servers still send.
  authMechanisms: (capabilities) =>
    uniqueUpper(capabilities.filter((line) => /^AUTH[ =]/.test(line)).flatMap((line) => line.slice(5).split(/\s+/))),

  offersPlaintextLogin: (capabilities) =>
    smtpDialect.authMechanisms(capabilities).some((mechanism) => mechanism === 'PLAIN' || mechanism === 'LOGIN'),
};
