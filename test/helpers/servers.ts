import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** A started server and how to stop it (sockets are destroyed, so stop never waits on a client). */
export interface Started<T> {
  server: T;
  stop(): Promise<void>;
}

function track<T extends net.Server>(server: T): Started<T> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function listen<T extends net.Server>(server: T, port: number, address: string): Promise<Started<T>> {
  const started = track(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve(started));
  });
}

/** An HTTPS server on address:443 (URLs carry no port), with the given certificate. */
export function startHttps(
  address: string,
  tls: { key: string; cert: string },
  handler: http.RequestListener,
): Promise<Started<https.Server>> {
  return listen(https.createServer({ key: tls.key, cert: tls.cert }, handler), 443, address);
}

/** A plain HTTP server on address:80. */
export function startHttp(address: string, handler: http.RequestListener): Promise<Started<http.Server>> {
  return listen(http.createServer(handler), 80, address);
}

/** A listener that accepts and never says anything, with what it saw. */
export interface SilentServer extends Started<net.Server> {
  /** Connections accepted so far. */
  readonly connections: number;
  /** Of those, the ones closed so far. */
  readonly closed: number;
  /** Resolves with the server's end of the next accepted connection (call it before causing one, so it cannot be missed). */
  nextConnection(): Promise<net.Socket>;
}

/** Resolves when a socket has closed (at once if it has); unlike events.once, an 'error' first does not reject. */
export function closedEvent(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));
}

/** A TCP listener that accepts and never says anything; counts connections and closes seen. */
export async function startSilent(address: string, port = 443): Promise<SilentServer> {
  const counters = { connections: 0, closed: 0 };
  const events = new EventEmitter();
  const server = net.createServer((socket) => {
    counters.connections += 1;
    events.emit('connection', socket);
    // Read (and ignore) what arrives, so that the peer closing is noticed.
    socket.resume();
    socket.on('error', () => {});
    socket.on('close', () => {
      counters.closed += 1;
    });
  });
  const started = await listen(server, port, address);
  return {
    ...started,
    get connections() {
      return counters.connections;
    },
    get closed() {
      return counters.closed;
    },
    nextConnection: async () => {
      const [socket] = (await once(events, 'connection')) as [net.Socket];
      return socket;
    },
  };
}

/** Writes `total` bytes in 64 KiB chunks, respecting back-pressure; resolves with the bytes written before the peer left. */
export function streamBytes(response: http.ServerResponse, total: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let written = 0;
  return new Promise((resolve) => {
    const finish = () => resolve(written);
    response.on('close', finish);
    const pump = () => {
      while (written < total) {
        written += chunk.length;
        if (!response.write(chunk)) {
          response.once('drain', pump);
          return;
        }
      }
      response.end();
    };
    pump();
  });
}
