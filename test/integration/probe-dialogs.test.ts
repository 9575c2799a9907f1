import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { Check } from '../../src/api/schemas.js';
import { Network } from '../../src/net/connect.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { checkServer, type CheckServerOptions } from '../../src/probes/check-server.js';
import type { CheckTarget } from '../../src/probes/types.js';
import { createMailCerts, type CertFiles, type MailCerts } from '../helpers/dovecot.js';
import { resolvingTo } from '../helpers/fakes.js';

/** Test servers listen here (127.0.3.0/24 is this suite's loopback range). */
const ADDRESS = '127.0.3.20';
const HOST = 'mail.probe.test';

// Every name resolves to the one address (the real resolver is tested end to end).
const allowed = new Network(resolvingTo(ADDRESS), new AddressPolicy(['127.0.3.0/24']));

/** Per-connection handle of a scripted server. */
interface Conn {
  send(text: string): void;
  /** Runs the server side of a TLS handshake on this connection and keeps reading lines from it. */
  upgrade(): void;
  end(): void;
  socket: net.Socket;
}

type Script = {
  /** Called on connect (send a greeting here, or not). */
  open?(conn: Conn): void;
  /** Called for each line the client sends. */
  line?(line: string, conn: Conn): void;
  /** Start with TLS (implicit TLS port). */
  tls?: boolean;
};

/** A scripted mail server on loopback; counts connections and records client lines. */
async function scripted(script: Script, identity?: CertFiles, tlsOptions: tls.SecureContextOptions = {}) {
  const lines: string[] = [];
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const context = identity ? tls.createSecureContext({ key: identity.key, cert: identity.cert, ...tlsOptions }) : undefined;
  const attach = (stream: net.Socket, conn: Conn) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      let index: number;
      while ((index = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, index).replace(/\r$/, '');
        buffer = buffer.slice(index + 1);
        lines.push(line);
        script.line?.(line, conn);
      }
    };
    stream.on('data', onData);
    return () => stream.removeListener('data', onData);
  };
  const server = net.createServer((raw) => {
    connections += 1;
    sockets.add(raw);
    raw.on('error', () => {});
    let current: net.Socket = raw;
    let detach = () => {};
    const conn: Conn = {
      socket: raw,
      send: (text) => {
        if (!current.destroyed) current.write(text);
      },
      end: () => current.destroy(),
      upgrade: () => {
        detach();
        const secure = new tls.TLSSocket(raw, { isServer: true, ...(context ? { secureContext: context } : {}) });
        secure.on('error', () => {});
        current = secure;
        detach = attach(secure, conn);
      },
    };
    if (script.tls) {
      const secure = new tls.TLSSocket(raw, { isServer: true, ...(context ? { secureContext: context } : {}) });
      secure.on('error', () => {});
      current = secure;
      secure.once('secure', () => script.open?.(conn));
      detach = attach(secure, conn);
    } else {
      detach = attach(raw, conn);
      script.open?.(conn);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, ADDRESS, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    lines,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}

/** A well-behaved IMAP server: Dovecot-like capabilities, LOGINDISABLED before TLS. */
function imapScript(options: { implicit?: boolean; refuseStartTls?: boolean; injectAfterStartTls?: boolean } = {}): Script {
  let secure = Boolean(options.implicit);
  return {
    tls: options.implicit,
    open: (conn) => conn.send('* OK [CAPABILITY IMAP4rev1 STARTTLS] Probe test IMAP ready.\r\n'),
    line: (line, conn) => {
      const [tag, command] = line.split(' ');
      switch (command?.toUpperCase()) {
        case 'CAPABILITY':
          conn.send(
            secure
              ? '* CAPABILITY IMAP4rev1 SASL-IR ID IDLE AUTH=PLAIN AUTH=SCRAM-SHA-256 AUTH=XOAUTH2\r\n'
              : '* CAPABILITY IMAP4rev1 SASL-IR ID IDLE STARTTLS LOGINDISABLED\r\n',
          );
          conn.send(`${tag} OK Capability completed.\r\n`);
          break;
        case 'STARTTLS':
          if (options.refuseStartTls) {
            conn.send(`${tag} BAD STARTTLS not supported here.\r\n`);
            break;
          }
          conn.send(`${tag} OK Begin TLS negotiation now.\r\n${options.injectAfterStartTls ? '* OK injected\r\n' : ''}`);
          secure = true;
          conn.upgrade();
          break;
        case 'LOGOUT':
          conn.send(`* BYE Logging out\r\n${tag} OK Logout completed.\r\n`);
          conn.end();
          break;
        default:
          conn.send(`${tag} BAD Unknown command.\r\n`);
      }
    },
  };
}

function pop3Script(options: { implicit?: boolean } = {}): Script {
  let secure = Boolean(options.implicit);
  return {
    tls: options.implicit,
    open: (conn) => conn.send('+OK Probe test POP3 ready.\r\n'),
    line: (line, conn) => {
      switch (line.toUpperCase()) {
        case 'CAPA':
          conn.send(secure ? '+OK\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN OAUTHBEARER\r\n.\r\n' : '+OK\r\nTOP\r\nUIDL\r\nSTLS\r\nUSER\r\n.\r\n');
          break;
        case 'STLS':
          conn.send('+OK Begin TLS negotiation\r\n');
          secure = true;
          conn.upgrade();
          break;
        case 'QUIT':
          conn.send('+OK Logging out\r\n');
          conn.end();
          break;
        default:
          conn.send('-ERR unknown\r\n');
      }
    },
  };
}

function smtpScript(options: { implicit?: boolean } = {}): Script {
  let secure = Boolean(options.implicit);
  return {
    tls: options.implicit,
    open: (conn) => conn.send('220-probe.test ESMTP\r\n220 ready\r\n'),
    line: (line, conn) => {
      const verb = line.split(' ')[0]?.toUpperCase();
      if (verb === 'EHLO') {
        conn.send(
          secure
            ? '250-probe.test\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN XOAUTH2\r\n250 8BITMIME\r\n'
            : '250-probe.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n',
        );
      } else if (verb === 'STARTTLS') {
        conn.send('220 2.0.0 Ready to start TLS\r\n');
        secure = true;
        conn.upgrade();
      } else if (verb === 'QUIT') {
        conn.send('221 2.0.0 Bye\r\n');
        conn.end();
      } else {
        conn.send('502 5.5.2 unknown\r\n');
      }
    },
  };
}

describe('live check dialogs against scripted servers', () => {
  let dir: string;
  let certs: MailCerts;
  let good: CertFiles;
  let selfSigned: CertFiles;
  let expired: CertFiles;
  let otherName: CertFiles;
  let soon: CertFiles;
  const servers: { close(): Promise<void> }[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'probe-certs-'));
    certs = createMailCerts(dir);
    good = certs.issue(HOST, [HOST]);
    selfSigned = certs.selfSigned(HOST, [HOST]);
    expired = certs.issue(HOST, [HOST], { start: '20200101000000Z', end: '20200201000000Z' });
    otherName = certs.issue('other.probe.test', ['other.probe.test']);
    const inTenDays = new Date(Date.now() + 10 * 86_400_000 + 3_600_000);
    const stamp = inTenDays.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
    soon = certs.issue(HOST, [HOST], { start: '250101000000Z', end: stamp });
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(
    script: Script,
    target: Omit<CheckTarget, 'port' | 'host'>,
    identity?: CertFiles,
    extra: Partial<CheckServerOptions> = {},
    tlsOptions: tls.SecureContextOptions = {},
  ) {
    const server = await scripted(script, identity, tlsOptions);
    servers.push(server);
    const started = performance.now();
    const check = await checkServer(
      { host: HOST, port: server.port, ...target },
      { network: allowed, timeoutMs: 3_000, extraCa: [certs.caPem], ...extra },
    );
    return { check, server, ms: performance.now() - started };
  }

  const assertTrustedTls = (check: Check) => {
    assert.equal(check.ok, true, JSON.stringify(check.error));
    assert.equal(check.error, undefined);
    assert.equal(check.address, ADDRESS);
    assert.equal(check.tls?.authorized, true);
    assert.match(check.tls?.protocol ?? '', /^TLSv1\.[23]$/);
    assert.ok(check.tls?.cipher);
    assert.equal(check.tls?.certificate?.subject, `CN=${HOST}`);
    assert.deepEqual(check.tls?.certificate?.subjectAltNames, [`DNS:${HOST}`]);
    assert.equal(check.tls?.certificate?.hostnameMatches, true);
    assert.match(check.tls?.certificate?.issuer ?? '', /probe test CA/);
    assert.equal(check.tls?.certificate?.chain[0]?.subject, 'CN=mailsettings probe test CA');
    assert.ok((check.tls?.certificate?.daysLeft ?? -1) >= 1);
    assert.ok(check.ms.total >= check.ms.tls && check.ms.tls > 0);
  };

  it('IMAP over implicit TLS: greeting, capabilities, auth mechanisms, certificate, LOGOUT', async () => {
    const { check, server } = await run(imapScript({ implicit: true }), { protocol: 'imap', security: 'tls' }, good);
    assertTrustedTls(check);
    assert.match(check.greeting, /^\* OK .*Probe test IMAP ready/);
    assert.ok(check.capabilities.includes('IMAP4REV1'));
    assert.deepEqual(check.authMechanisms, ['PLAIN', 'SCRAM-SHA-256', 'XOAUTH2']);
    assert.equal(check.starttls, false);
    assert.deepEqual(check.warnings, []);
    // Never authenticates: only capability and goodbye commands reach the server.
    assert.deepEqual(server.lines.map((line) => line.split(' ')[1]), ['CAPABILITY', 'LOGOUT']);
  });

  it('IMAP with STARTTLS: capabilities before and after the upgrade', async () => {
    const { check, server } = await run(imapScript(), { protocol: 'imap', security: 'starttls' }, good);
    assertTrustedTls(check);
    assert.equal(check.starttls, true);
    assert.ok(check.capabilities.includes('AUTH=PLAIN'), 'capabilities are the ones after TLS');
    assert.ok(!check.capabilities.includes('LOGINDISABLED'));
    assert.deepEqual(check.authMechanisms, ['PLAIN', 'SCRAM-SHA-256', 'XOAUTH2']);
    assert.deepEqual(check.warnings, [], 'LOGINDISABLED before TLS: no plaintext-login warning');
    assert.deepEqual(server.lines.map((line) => line.split(' ')[1]), ['CAPABILITY', 'STARTTLS', 'CAPABILITY', 'LOGOUT']);
  });

  it('POP3 with STLS and over implicit TLS', async () => {
    const starttls = await run(pop3Script(), { protocol: 'pop3', security: 'starttls' }, good);
    assertTrustedTls(starttls.check);
    assert.equal(starttls.check.starttls, true);
    assert.deepEqual(starttls.check.authMechanisms, ['PLAIN', 'OAUTHBEARER']);
    assert.deepEqual(starttls.check.warnings, ['the server offers a password login before TLS'], 'USER offered before STLS');
    assert.deepEqual(starttls.server.lines, ['CAPA', 'STLS', 'CAPA', 'QUIT']);

    const implicit = await run(pop3Script({ implicit: true }), { protocol: 'pop3', security: 'tls' }, good);
    assertTrustedTls(implicit.check);
    assert.match(implicit.check.greeting, /^\+OK Probe test POP3/);
  });

  it('SMTP with STARTTLS and over implicit TLS, multi-line greeting and EHLO', async () => {
    const starttls = await run(smtpScript(), { protocol: 'smtp', security: 'starttls' }, good);
    assertTrustedTls(starttls.check);
    assert.equal(starttls.check.greeting, '220 probe.test ESMTP');
    assert.deepEqual(starttls.check.authMechanisms, ['PLAIN', 'LOGIN', 'XOAUTH2']);
    assert.deepEqual(starttls.check.capabilities, ['PIPELINING', 'AUTH PLAIN LOGIN XOAUTH2', '8BITMIME']);
    assert.deepEqual(
      starttls.server.lines.map((line) => line.split(' ')[0]),
      ['EHLO', 'STARTTLS', 'EHLO', 'QUIT'],
    );
    assert.match(starttls.server.lines[0] ?? '', /^EHLO \[127(\.\d+){3}\]$/);

    const implicit = await run(smtpScript({ implicit: true }), { protocol: 'smtp', security: 'tls' }, good);
    assertTrustedTls(implicit.check);
  });

  it('security none: greeting and capabilities only, with the plaintext warnings', async () => {
    const { check, server } = await run(
      { open: (conn) => conn.send('+OK old pop\r\n'), line: (line, conn) => conn.send(line === 'CAPA' ? '+OK\r\nUSER\r\n.\r\n' : '+OK bye\r\n') },
      { protocol: 'pop3', security: 'none' },
    );
    assert.equal(check.ok, true);
    assert.equal(check.tls, null);
    assert.equal(check.starttls, false);
    assert.deepEqual(check.warnings, [
      'the server offers a password login before TLS',
      'no STARTTLS on this plaintext port: passwords would cross the network unencrypted',
    ]);
    assert.deepEqual(server.lines, ['CAPA', 'QUIT']);
  });

  it('a garbage greeting is a protocol_error', async () => {
    const { check } = await run({ open: (conn) => conn.send('SSH-2.0-OpenSSH_9.2\r\n') }, { protocol: 'imap', security: 'none' });
    assert.equal(check.ok, false);
    assert.equal(check.error?.code, 'protocol_error');
    assert.match(check.error?.message ?? '', /not an IMAP greeting: SSH-2\.0/);
  });

  it('an IMAP greeting on the SMTP port is a protocol_error (a guess needs the right protocol)', async () => {
    const { check } = await run(imapScript(), { protocol: 'smtp', security: 'starttls' });
    assert.equal(check.error?.code, 'protocol_error');
  });

  it('a server that closes right after connect is a protocol_error', async () => {
    const { check } = await run({ open: (conn) => conn.end() }, { protocol: 'pop3', security: 'starttls' });
    assert.equal(check.ok, false);
    assert.equal(check.error?.code, 'protocol_error');
    assert.match(check.error?.message ?? '', /closed|reset|ECONNRESET/);
  });

  it('a refused STARTTLS is starttls_unavailable', async () => {
    const { check } = await run(imapScript({ refuseStartTls: true }), { protocol: 'imap', security: 'starttls' }, good);
    assert.equal(check.ok, false);
    assert.equal(check.error?.code, 'starttls_unavailable');
    assert.equal(check.tls, null);
  });

  it('data sent after accepting STARTTLS, before the handshake, is refused (STARTTLS injection)', async () => {
    const { check } = await run(imapScript({ injectAfterStartTls: true }), { protocol: 'imap', security: 'starttls' }, good);
    assert.equal(check.ok, false);
    assert.equal(check.error?.code, 'protocol_error');
    assert.match(check.error?.message ?? '', /after accepting STARTTLS/);
  });

  it('a server that never speaks is cut off by the step timeout', async () => {
    const { check, ms } = await run({}, { protocol: 'smtp', security: 'starttls' }, undefined, { stepTimeoutMs: 300 });
    assert.equal(check.ok, false);
    assert.equal(check.error?.code, 'timeout');
    assert.ok(ms < 1_500, `took ${ms} ms`);
  });

  it('a server that never speaks is cut off by the total timeout too', async () => {
    const { check, ms } = await run({}, { protocol: 'imap', security: 'none' }, undefined, { timeoutMs: 400, stepTimeoutMs: 10_000 });
    assert.equal(check.error?.code, 'timeout');
    assert.match(check.error?.message ?? '', /within 400 ms/);
    assert.ok(ms < 1_500, `took ${ms} ms`);
  });

  it('an endless line is cut off at the line cap', async () => {
    let sent = 0;
    const { check, ms } = await run(
      {
        open: (conn) => {
          const chunk = 'A'.repeat(4096);
          const pump = () => {
            while (!conn.socket.destroyed && conn.socket.write(chunk)) {
              sent += chunk.length;
              if (sent > 50 * 1024 * 1024) return;
            }
            if (!conn.socket.destroyed) conn.socket.once('drain', pump);
          };
          pump();
        },
      },
      { protocol: 'imap', security: 'none' },
    );
    assert.equal(check.error?.code, 'protocol_error');
    assert.match(check.error?.message ?? '', /line longer than/);
    assert.ok(ms < 2_000, `took ${ms} ms`);
    assert.ok(sent < 10 * 1024 * 1024, `the client kept reading: ${sent} bytes sent`);
  });

  it('endless short lines are cut off at the reply cap', async () => {
    const { check } = await run(
      {
        open: (conn) => {
          conn.send('220-hello\r\n');
          const pump = () => {
            while (!conn.socket.destroyed && conn.socket.write('220-more and more\r\n'.repeat(100)));
            if (!conn.socket.destroyed) conn.socket.once('drain', pump);
          };
          pump();
        },
      },
      { protocol: 'smtp', security: 'starttls' },
    );
    assert.equal(check.error?.code, 'protocol_error');
    assert.match(check.error?.message ?? '', /more than \d+ (lines|bytes)/);
  });

  it('a self-signed certificate is certificate_untrusted, still described', async () => {
    const { check } = await run(imapScript({ implicit: true }), { protocol: 'imap', security: 'tls' }, selfSigned);
    assert.equal(check.ok, false);
    assert.equal(check.error?.code, 'certificate_untrusted');
    assert.equal(check.tls?.authorized, false);
    assert.equal(check.tls?.error, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.equal(check.tls?.certificate?.subject, `CN=${HOST}`);
    assert.ok(check.capabilities.length > 0, 'the dialog still ran, so support staff see the capabilities');
  });

  it('an expired certificate is certificate_expired with negative daysLeft', async () => {
    const { check } = await run(pop3Script({ implicit: true }), { protocol: 'pop3', security: 'tls' }, expired);
    assert.equal(check.error?.code, 'certificate_expired');
    assert.equal(check.tls?.error, 'CERT_HAS_EXPIRED');
    assert.ok((check.tls?.certificate?.daysLeft ?? 0) < -365);
    assert.equal(check.tls?.certificate?.validTo, '2020-02-01T00:00:00.000Z');
  });

  it('a certificate for another name is hostname_mismatch', async () => {
    const { check } = await run(smtpScript(), { protocol: 'smtp', security: 'starttls' }, otherName);
    assert.equal(check.error?.code, 'hostname_mismatch');
    assert.equal(check.tls?.certificate?.hostnameMatches, false);
    assert.equal(check.tls?.authorized, false);
  });

  it('a certificate expiring within 14 days gives a warning, not a failure', async () => {
    const { check } = await run(imapScript({ implicit: true }), { protocol: 'imap', security: 'tls' }, soon);
    assert.equal(check.ok, true, JSON.stringify(check.error));
    assert.deepEqual(check.warnings, ['the certificate expires in 10 days']);
  });

  it('TLS 1.1 still connects, with a warning', async () => {
    const { check } = await run(imapScript({ implicit: true }), { protocol: 'imap', security: 'tls' }, good, {}, {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    assert.equal(check.ok, true, JSON.stringify(check.error));
    assert.equal(check.tls?.protocol, 'TLSv1.1');
    assert.deepEqual(check.warnings, ['TLSv1.1 is older than TLS 1.2']);
  });

  it('a password login offered before STARTTLS is warned about (SMTP AUTH PLAIN in the clear)', async () => {
    const script = smtpScript();
    let firstEhlo = true;
    const { check } = await run(
      {
        ...script,
        line: (text, conn) => {
          if (firstEhlo && /^EHLO/.test(text)) {
            firstEhlo = false;
            conn.send('250-probe.test\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n');
            return;
          }
          script.line?.(text, conn);
        },
      },
      { protocol: 'smtp', security: 'starttls' },
      good,
    );
    assert.equal(check.ok, true, JSON.stringify(check.error));
    assert.deepEqual(check.warnings, ['the server offers a password login before TLS']);
  });

  it('a TLS handshake with a plaintext server is tls_failed or timeout, never ok', async () => {
    const { check } = await run(imapScript(), { protocol: 'imap', security: 'tls' }, undefined, { timeoutMs: 1_000 });
    assert.equal(check.ok, false);
    assert.ok(['tls_failed', 'timeout'].includes(check.error?.code ?? ''), check.error?.code);
  });

  it('a host resolving to a refused address is never contacted', async () => {
    const server = await scripted(imapScript());
    servers.push(server);
    // The same loopback listener, but the policy no longer allows it.
    const strict = new Network(resolvingTo(ADDRESS), new AddressPolicy(['127.0.3.128/25']));
    const check = await checkServer({ host: HOST, port: server.port, protocol: 'imap', security: 'none' }, { network: strict, timeoutMs: 2_000 });
    assert.equal(check.ok, false);
    assert.equal(check.error?.code, 'forbidden_target');
    // Security: the refused address is not disclosed.
    assert.equal(check.address, null);
    // Read once the check has finished: the policy refused before any socket was opened.
    assert.equal(server.connections, 0);
  });

  it('a closed port is connect_refused', async () => {
    const server = await scripted({});
    await server.close();
    const check = await checkServer({ host: HOST, port: server.port, protocol: 'imap', security: 'tls' }, { network: allowed, timeoutMs: 2_000 });
    assert.equal(check.error?.code, 'connect_refused');
  });
});
