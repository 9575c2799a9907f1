import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { collectOutput } from './child-output.js';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real redis-server (Debian package redis-server) for one test file, on a loopback address. */
export interface RedisServer {
  url: string;
  address: string;
  port: number;
  /** Sends one command (RESP) on a fresh connection and returns the raw reply text. */
  command(...args: string[]): Promise<string>;
  /** Total commands Redis has processed (INFO stats), for round-trip counts. */
  commandsProcessed(): Promise<number>;
  /** Stops the server (SIGTERM); `start` brings it back on the same address and port, empty. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  close(): Promise<void>;
}

/** Encodes a command in RESP. */
function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

/** One command on its own connection; resolves with the reply once a complete line (or bulk) arrived (`timeoutMs`: a guard). */
function sendCommand(address: string, port: number, args: string[], timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${args[0]} timed out`));
    }, timeoutMs);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply);
    };
    socket.once('error', finish);
    socket.once('connect', () => socket.write(resp(args)));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      // A bulk reply ($n) is complete once n bytes and the final CRLF arrived; any other reply is one line.
      const bulk = /^\$(-?\d+)\r\n/.exec(reply);
      if (bulk) {
        const length = Number(bulk[1]);
        if (length < 0 || Buffer.byteLength(reply) >= bulk[0].length + length + 2) finish();
      } else if (reply.endsWith('\r\n')) finish();
    });
  });
}

/**
 * Starts redis-server in the foreground as a child of the test, on `address:port` only, without
 * persistence (a restart comes back empty, like a lost Redis), and waits until it logs that it is
 * ready (an event, no polling) and answers one PING.
 */
export async function startRedis(address: string, port: number): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-'));
  let child: ChildProcess | null = null;
  const start = async () => {
    const started = spawn(
      '/usr/bin/redis-server',
      ['--bind', address, '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'notice'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    const output = collectOutput(started);
    await output.waitFor(/Ready to accept connections/, { timeoutMs: 10_000, what: "redis-server's ready line" });
    const pong = await sendCommand(address, port, ['PING']);
    if (!pong.startsWith('+PONG')) throw new Error(`redis-server on ${address}:${port} answered ${pong}: ${output.all()}`);
  };
  const stop = async () => {
    const running = child;
    child = null;
    if (running && running.exitCode === null && running.signalCode === null) {
      const exited = once(running, 'exit');
      running.kill('SIGTERM');
      await exited;
    }
  };
  await start();
  return {
    url: `redis://${address}:${port}`,
    address,
    port,
    command: (...args) => sendCommand(address, port, args),
    commandsProcessed: async () => Number(/total_commands_processed:(\d+)/.exec(await sendCommand(address, port, ['INFO', 'stats']))?.[1] ?? NaN),
    stop,
    start,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
