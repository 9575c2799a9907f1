import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Network } from '../../src/net/connect.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { checkServer } from '../../src/probes/check-server.js';
import { printable } from '../../src/probes/session.js';
import { resolvingTo } from '../helpers/fakes.js';

// Loopback world of this file: fake IMAP, POP3 and SMTP servers on 127.0.8.20 whose greetings and
// capabilities carry terminal escapes, NUL, BEL, DEL, backspace and C1 controls.
const ADDRESS = '127.0.8.20';
const ESC = '\x1b[2J\x1b]0;owned\x07';
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/** A line-based fake server: `reply` maps each received line to the raw text to send back. */
async function fakeServer(greeting: string, reply: (line: string) => string | null) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    // latin1: every code point below 256 is written as the one byte a hostile server would send.
    socket.write(greeting, 'latin1');
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        const answer = reply(line);
        if (answer === null) socket.end();
        else socket.write(answer, 'latin1');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, ADDRESS, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      sockets.forEach((socket) => socket.destroy());
      server.close(() => resolve());
    }),
  };
}

describe('greetings and capabilities of checked servers are made printable', () => {
  const network = new Network(resolvingTo(ADDRESS), new AddressPolicy(['127.0.8.0/24']));
  const servers: { close(): Promise<void> }[] = [];
  const ports: Record<string, number> = {};

  before(async () => {
    const imap = await fakeServer(`* OK ${ESC}hostile\x00 IMAP\x9b ready\r\n`, (line) => {
      const [tag, command] = line.split(' ');
      if (command === 'CAPABILITY') return `* CAPABILITY IMAP4rev1 X-${ESC} AUTH=PL\x08AIN LOGINDISABLED\x7f\r\n${tag} OK done\r\n`;
      if (command === 'LOGOUT') return `* BYE\r\n${tag} OK bye\r\n`;
      return `${tag} BAD\r\n`;
    });
    const pop3 = await fakeServer(`+OK ${ESC}pop\x85 ready\r\n`, (line) => {
      if (line === 'CAPA') return `+OK\r\nUSER\r\nSASL PLAIN ${ESC}\r\nX-\x01\x02\x03\r\n.\r\n`;
      if (line === 'QUIT') return '+OK bye\r\n';
      return '-ERR\r\n';
    });
    const smtp = await fakeServer(`220 mx.${ESC}.test ESMTP\x00\r\n`, (line) => {
      if (line.startsWith('EHLO')) return `250-mx.test\r\n250-AUTH PLAIN ${ESC}\r\n250 X-\x1bFOO\r\n`;
      if (line === 'QUIT') return '221 bye\r\n';
      return '500 what\r\n';
    });
    servers.push(imap, pop3, smtp);
    Object.assign(ports, { imap: imap.port, pop3: pop3.port, smtp: smtp.port });
  });
  after(async () => {
    for (const server of servers) await server.close();
  });

  for (const protocol of ['imap', 'pop3', 'smtp'] as const) {
    it(`${protocol}: greeting, capabilities and mechanisms hold no control characters`, async () => {
      const check = await checkServer({ host: `${protocol}.printable.test`, port: ports[protocol] ?? 0, protocol, security: 'none' }, { network, timeoutMs: 2000 });
      assert.equal(check.error, undefined, JSON.stringify(check.error));
      assert.ok(check.greeting.length > 0);
      assert.ok(check.capabilities.length > 0);
      for (const text of [check.greeting, ...check.capabilities, ...check.authMechanisms]) {
        assert.ok(!CONTROL.test(text), JSON.stringify(text));
      }
      assert.ok(check.greeting.includes('?[2J'), check.greeting);
    });
  }

  it('printable() keeps printable ASCII and replaces everything else', () => {
    assert.equal(printable('* OK plain text [CAPABILITY IMAP4rev1]'), '* OK plain text [CAPABILITY IMAP4rev1]');
    assert.equal(printable('a\x00b\x1bc\x7fd\x85e\r\n'), 'a?b?c?d?e??');
  });
});
