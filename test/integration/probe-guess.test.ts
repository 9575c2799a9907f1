import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Network } from '../../src/net/connect.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { LiveChecker } from '../../src/probes/live-checker.js';
import { authenticationFor, createGuessSource } from '../../src/sources/guess.js';
import type { SourceResult } from '../../src/sources/types.js';
import { createMailCerts } from '../helpers/dovecot.js';
import { FakeDns, found } from '../helpers/fakes.js';

/** Scripted servers of this test (127.0.3.0/24 is this suite's loopback range). */
const MAIN = '127.0.3.30';
const WRONG = '127.0.3.31';
const DOMAIN = 'guessunit.test';

/** Resolves the names in the table; every other name does not exist. */
function tableDns(table: Record<string, string>): FakeDns {
  return new FakeDns({ addresses: (host) => (table[host] ? found([table[host]]) : undefined) });
}

type Handler = (socket: net.Socket) => void;

/** A line-answering mail server: `greeting` on connect, then `reply(line)` per client line. */
function lineServer(greeting: string, reply: (line: string, socket: net.Socket) => string | null): Handler {
  return (socket) => {
    socket.on('error', () => {});
    socket.write(greeting);
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let index: number;
      while ((index = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, index).replace(/\r$/, '');
        buffer = buffer.slice(index + 1);
        const answer = reply(line, socket);
        if (answer === null) socket.end();
        else socket.write(answer);
      }
    });
  };
}

const imapHandler = lineServer('* OK guess IMAP ready\r\n', (line) => {
  const [tag, command] = line.split(' ');
  if (command === 'CAPABILITY') return `* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2\r\n${tag} OK done\r\n`;
  if (command === 'LOGOUT') return null;
  return `${tag} BAD\r\n`;
});
/** A POP3 server without STLS: plaintext only. */
const plainPop3Handler = lineServer('+OK old POP3\r\n', (line) => (line === 'CAPA' ? '+OK\r\nUSER\r\n.\r\n' : line === 'QUIT' ? null : '-ERR no\r\n'));
const smtpHandler = lineServer('220 guess ESMTP\r\n', (line) => (line.startsWith('EHLO') ? '250-guess\r\n250 AUTH PLAIN\r\n' : line === 'QUIT' ? null : '502 no\r\n'));

describe('guessing source', () => {
  let dir: string;
  const servers: net.Server[] = [];
  let connectionsToWrong = 0;
  let extraCa: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'guess-unit-'));
    const certs = createMailCerts(dir);
    extraCa = [certs.caPem];
    const cert = certs.issue(`imap.${DOMAIN}`, [`imap.${DOMAIN}`, `mail.${DOMAIN}`]);
    const listen = async (server: net.Server, port: number, address: string) => {
      await new Promise<void>((resolve) => server.listen(port, address, resolve));
      servers.push(server);
    };
    // imap. answers IMAP on 993 with a CA-signed certificate.
    await listen(tls.createServer({ key: cert.key, cert: cert.cert }, imapHandler), 993, MAIN);
    // POP3 only in plaintext on 110, SMTP on 587 without STARTTLS support on the same address.
    await listen(net.createServer(plainPop3Handler), 110, MAIN);
    await listen(net.createServer(lineServer('220 guess ESMTP\r\n', (line) =>
      line.startsWith('EHLO') ? '250-guess\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n' : line === 'STARTTLS' ? '220 go\r\n' : line === 'QUIT' ? null : '502\r\n')), 587, MAIN);
    // mail. is a different host that answers SMTP on the IMAP port: the wrong protocol never counts.
    await listen(net.createServer((socket) => {
      connectionsToWrong += 1;
      smtpHandler(socket);
    }), 143, WRONG);
  });
  after(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (table: Record<string, string>, allow = ['127.0.3.0/24']): Promise<{ result: SourceResult; ms: number; dns: ReturnType<typeof tableDns> }> => {
    const dns = tableDns(table);
    const network = new Network(dns, new AddressPolicy(allow));
    const checker = new LiveChecker({ network, timeoutMs: 1_500, cacheTtlS: 0, concurrency: 32, targetLimitMax: 1_000, targetWindowMs: 60_000, extraCa });
    const source = createGuessSource({ network, checker, timeoutMs: 1_500 });
    const started = performance.now();
    const result = await source.lookup({
      subject: { domain: DOMAIN, email: null, localPart: null },
      signal: AbortSignal.timeout(8_000),
      log: pino({ level: 'silent' }),
    });
    return { result, ms: performance.now() - started, dns };
  };

  it('is a fallback source with priority 100', () => {
    const network = new Network(tableDns({}), new AddressPolicy());
    const checker = new LiveChecker({ network, timeoutMs: 1_000, cacheTtlS: 0, concurrency: 1, targetLimitMax: 1, targetWindowMs: 60_000 });
    const source = createGuessSource({ network, checker, timeoutMs: 1_000 });
    assert.deepEqual({ name: source.name, priority: source.priority, fallback: source.fallback }, { name: 'guess', priority: 100, fallback: true });
  });

  it('finds IMAP over TLS, reports plaintext-only POP3 as none, and never counts the wrong protocol', async () => {
    const { result, ms, dns } = await run({ [`imap.${DOMAIN}`]: MAIN, [`pop3.${DOMAIN}`]: MAIN, [`mail.${DOMAIN}`]: WRONG });
    assert.equal(result.outcome, 'found', JSON.stringify(result));
    if (result.outcome !== 'found') return;
    const summary = result.servers.map((server) => `${server.protocol}:${server.host}:${server.port}:${server.security}:${server.trusted}`).sort();
    assert.deepEqual(summary, [
      `imap:imap.${DOMAIN}:993:tls:true`,
      `pop3:pop3.${DOMAIN}:110:none:false`,
    ]);
    const imap = result.servers.find((server) => server.protocol === 'imap');
    assert.deepEqual(imap?.authentication, ['password-cleartext', 'oauth2']);
    assert.equal(imap?.source, `guess:imap.${DOMAIN}:993`);
    assert.ok(connectionsToWrong >= 1, 'the wrong-protocol server was probed');
    // Every candidate name was resolved exactly once.
    assert.deepEqual([...dns.asked].sort(), [`${DOMAIN}`, `imap.${DOMAIN}`, `mail.${DOMAIN}`, `pop.${DOMAIN}`, `pop3.${DOMAIN}`, `smtp.${DOMAIN}`].sort());
    assert.ok(ms < 1_000, `guessing took ${ms} ms`);
  });

  it('a STARTTLS server whose upgrade fails does not count as starttls', async () => {
    // smtp. → MAIN:587 advertises STARTTLS and says "go", then never does a TLS handshake.
    const { result } = await run({ [`imap.${DOMAIN}`]: MAIN, [`smtp.${DOMAIN}`]: MAIN });
    assert.equal(result.outcome, 'found');
    if (result.outcome !== 'found') return;
    assert.equal(result.servers.filter((server) => server.protocol === 'smtp').length, 0);
  });

  it('nothing resolving is not-found; only refused names is blocked, and nothing is contacted', async () => {
    assert.equal((await run({})).result.outcome, 'not-found');
    const before = connectionsToWrong;
    const { result } = await run({ [`mail.${DOMAIN}`]: WRONG }, []);
    assert.equal(result.outcome, 'blocked');
    assert.equal(connectionsToWrong, before);
  });

  it('maps SASL mechanisms to authentication methods', () => {
    assert.deepEqual(authenticationFor({ protocol: 'smtp', capabilities: [], authMechanisms: ['SCRAM-SHA-256', 'OAUTHBEARER', 'GSSAPI'] }), [
      'password-encrypted',
      'oauth2',
      'gssapi',
    ]);
    assert.deepEqual(authenticationFor({ protocol: 'imap', capabilities: ['LOGINDISABLED'], authMechanisms: [] }), ['password-cleartext']);
  });
});
