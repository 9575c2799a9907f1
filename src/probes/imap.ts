import { excerpt, MAX_REPLY_LINES, readFailure, uniqueUpper, type Dialect, type Session, type StepResult } from './session.js';

/** The result of a tagged IMAP command: its untagged lines and the tagged completion. */
type Tagged = StepResult<{ untagged: string[]; status: 'OK' | 'NO' | 'BAD'; text: string }>;

let counter = 0;

/** Sends a tagged command and reads untagged lines up to its tagged completion (bounded). */
async function command(session: Session, text: string): Promise<Tagged> {
  counter = (counter + 1) % 10_000;
  const tag = `m${counter}`;
  session.write(`${tag} ${text}`);
  const untagged: string[] = [];
  for (let i = 0; i < MAX_REPLY_LINES; i += 1) {
    const read = await session.read();
    if (!read.ok) return readFailure(read, `reply to ${text}`);
    const line = read.line;
    if (line.startsWith(`${tag} `)) {
      const match = /^\S+ (OK|NO|BAD)\b ?(.*)$/i.exec(line);
      if (!match) return { ok: false, code: 'protocol_error', message: `malformed IMAP completion: ${excerpt(line)}` };
      return { ok: true, value: { untagged, status: (match[1] ?? 'BAD').toUpperCase() as 'OK' | 'NO' | 'BAD', text: match[2] ?? '' } };
    }
    if (line.startsWith('* ') || line.startsWith('+')) {
      untagged.push(line);
      continue;
    }
    return { ok: false, code: 'protocol_error', message: `unexpected IMAP line: ${excerpt(line)}` };
  }
  return { ok: false, code: 'protocol_error', message: `more than ${MAX_REPLY_LINES} lines in reply to ${text}` };
}

/** Capability tokens of a `* CAPABILITY …` line or a `[CAPABILITY …]` response code. */
function capabilityTokens(line: string): string[] | null {
  const untagged = /^\* CAPABILITY (.*)$/i.exec(line);
  if (untagged) return (untagged[1] ?? '').split(/\s+/);
  const code = /\[CAPABILITY ([^\]]*)\]/i.exec(line);
  return code ? (code[1] ?? '').split(/\s+/) : null;
}

/** IMAP4rev1/rev2 (RFC 3501, RFC 9051): `* OK` greeting, CAPABILITY, STARTTLS, LOGOUT. */
export const imapDialect: Dialect = {
  protocol: 'imap',

  async greeting(session) {
    const read = await session.read();
    if (!read.ok) return readFailure(read, 'IMAP greeting');
    if (/^\* (OK|PREAUTH)\b/i.test(read.line)) return { ok: true, value: read.line };
    if (/^\* BYE\b/i.test(read.line)) {
      return { ok: false, code: 'protocol_error', message: `the IMAP server refused the connection: ${excerpt(read.line)}` };
    }
    return { ok: false, code: 'protocol_error', message: `not an IMAP greeting: ${excerpt(read.line)}` };
  },

  async capabilities(session) {
    const reply = await command(session, 'CAPABILITY');
    if (!reply.ok) return reply;
    if (reply.value.status !== 'OK') {
      return { ok: false, code: 'protocol_error', message: `CAPABILITY failed: ${reply.value.status} ${excerpt(reply.value.text)}` };
    }
    const tokens = reply.value.untagged.flatMap((line) => capabilityTokens(line) ?? []);
    if (tokens.length === 0) return { ok: false, code: 'protocol_error', message: 'the IMAP server listed no capabilities' };
    return { ok: true, value: uniqueUpper(tokens) };
  },

  async startTls(session) {
    const reply = await command(session, 'STARTTLS');
    if (!reply.ok) return reply;
    if (reply.value.status !== 'OK') {
      return { ok: false, code: 'starttls_unavailable', message: `the server declined STARTTLS: ${reply.value.status} ${excerpt(reply.value.text)}` };
    }
    return { ok: true, value: null };
  },

  async logout(session) {
    await command(session, 'LOGOUT');
  },

  offersStartTls: (capabilities) => capabilities.includes('STARTTLS'),

  authMechanisms: (capabilities) => uniqueUpper(capabilities.filter((token) => token.startsWith('AUTH=')).map((token) => token.slice(5))),

  // Without LOGINDISABLED the LOGIN command takes a cleartext password (RFC 3501 §6.2.3).
  offersPlaintextLogin: (capabilities) =>
    !capabilities.includes('LOGINDISABLED') || capabilities.includes('AUTH=PLAIN') || capabilities.includes('AUTH=LOGIN'),
};
