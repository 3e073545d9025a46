// Tiny TCP workloads for integration tests: an echo server that first announces its name.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TestServer {
  server: Server;
  accepted: number;
  close(): Promise<void>;
}

/** Writes `block` until `total` bytes are out, respecting backpressure, then ends the socket. */
export function streamBlocks(socket: Socket, block: Buffer, total: number): void {
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      sent += block.length;
      const ok = socket.write(block);
      if (sent >= total) {
        socket.end();
        return;
      }
      if (!ok) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

/**
 * Keeps track of `server`'s open connections; the returned close destroys them and then closes the listener,
 * so a test that failed halfway does not leave a listener or connection keeping its file alive to the timeout.
 */
export function closerOf(server: Server): () => Promise<void> {
  const open = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  return () =>
    new Promise((resolve) => {
      for (const s of open) s.destroy();
      server.close(() => resolve());
    });
}

/** Writes `<name>\n`, then echoes everything; half-closes when the client does. */
export function startNamedEcho(ip: string, port: number, name: string): Promise<TestServer> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    result.accepted++;
    s.on('error', () => {});
    s.write(`${name}\n`);
    s.pipe(s);
  });
  const result: TestServer = { server, accepted: 0, close: closerOf(server) };
  return new Promise((resolve, reject) => {
    result.server.once('error', reject);
    result.server.listen(port, ip, () => resolve(result));
  });
}

/**
 * Connects, sends `payload`, half-closes, and returns everything received until the server closes. With
 * `pauseMs`, a slow reader: nothing is read for that long after connecting.
 */
export function roundTrip(ip: string, port: number, payload: Buffer | string = '', timeoutMs = 10_000, pauseMs = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket: Socket = connect({ host: ip, port, allowHalfOpen: true });
    if (pauseMs > 0) {
      socket.pause();
      setTimeout(() => socket.resume(), pauseMs);
    }
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${ip}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.on('connect', () => socket.end(payload));
  });
}
