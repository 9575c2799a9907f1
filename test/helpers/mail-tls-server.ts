import net from 'node:net';
import tls from 'node:tls';

/** A started implicit-TLS mail server and how to stop it (its sockets are destroyed, so stop never waits). */
export interface MailTlsServer {
  /** Connections accepted so far. */
  readonly connections: number;
  stop(): Promise<void>;
}

/**
 * Replies of the smallest dialog the live checks hold (greeting, capabilities, goodbye): IMAP
 * (RFC 9051 CAPABILITY, LOGOUT) or SMTP submission (RFC 5321 EHLO, QUIT). Returns the reply to one
 * client line and whether to close after it.
 */
function reply(protocol: 'imap' | 'smtp', host: string, line: string): { text: string; close: boolean } {
  if (protocol === 'imap') {
    const [tag = '*', command = ''] = line.split(' ');
    if (command.toUpperCase() === 'CAPABILITY') return { text: `* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`, close: false };
    if (command.toUpperCase() === 'LOGOUT') return { text: `* BYE logging out\r\n${tag} OK bye\r\n`, close: true };
    return { text: `${tag} BAD unknown command\r\n`, close: false };
  }
  const verb = line.split(' ')[0]?.toUpperCase() ?? '';
  if (verb === 'EHLO') return { text: `250-${host}\r\n250 AUTH PLAIN LOGIN\r\n`, close: false };
  if (verb === 'QUIT') return { text: '221 bye\r\n', close: true };
  return { text: '502 not implemented\r\n', close: false };
}

/**
 * Starts an implicit-TLS IMAP (993) or SMTP submission (465) server on a loopback address with the
 * given certificate: enough of the protocol for a credential-free live check, nothing more.
 */
export async function startMailTlsServer(
  address: string,
  port: number,
  protocol: 'imap' | 'smtp',
  options: { host: string; key: string; cert: string },
): Promise<MailTlsServer> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: options.key, cert: options.cert }, (socket) => {
    socket.on('error', () => {});
    socket.write(protocol === 'imap' ? '* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] test IMAP ready\r\n' : `220 ${options.host} ESMTP test ready\r\n`);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let end = pending.indexOf('\r\n');
      while (end >= 0) {
        const answer = reply(protocol, options.host, pending.slice(0, end));
        pending = pending.slice(end + 2);
        if (answer.close) socket.end(answer.text);
        else socket.write(answer.text);
        end = pending.indexOf('\r\n');
      }
    });
  });
  server.on('connection', (socket: net.Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  return {
    get connections() {
      return connections;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
