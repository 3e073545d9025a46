// Test fixture: client → proxy (splice) → upstream, all real TCP sockets on 127.0.0.1.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { newConnectionStats, type ConnectionStats } from '../../../src/dataplane/connection-stats.js';
import { splice, type SpliceOutcome } from '../../../src/dataplane/splice.js';
import { adoptAccepted } from '../../../src/dataplane/pooled-reads.js';
import { dialTcp } from '../../../src/dataplane/dial.js';

/**
 * How the proxy's two sockets read: Node's 'data' events, or the node proxy's way — the accepted socket
 * adopted into pooled reads, the upstream dialed with them (dataplane/pooled-reads.ts).
 */
export const READ_MODES = ['data events', 'pooled reads'] as const;
export type ReadMode = (typeof READ_MODES)[number];

export interface TcpChain {
  client: Socket;
  /** The upstream server's end of the connection. */
  upstream: Socket;
  /** The proxy's two sockets, for tests that break one of them directly. */
  proxyClientSide: Socket;
  proxyUpstreamSide: Socket;
  stats: ConnectionStats;
  outcome: Promise<SpliceOutcome>;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

export async function tcpChain(mode: ReadMode = 'data events'): Promise<TcpChain> {
  const pooled = mode === 'pooled reads';
  // allowHalfOpen so the upstream application can keep answering after the client's FIN.
  const upstreamServer = createServer({ allowHalfOpen: true });
  const proxyServer = createServer({ allowHalfOpen: true, pauseOnConnect: pooled });
  const upstreamPort = await listen(upstreamServer);
  const proxyPort = await listen(proxyServer);
  const stats = newConnectionStats();

  const upstreamAccepted = once(upstreamServer, 'connection') as Promise<[Socket]>;
  const proxied = new Promise<{ a: Socket; b: Socket; outcome: Promise<SpliceOutcome> }>((resolve) => {
    proxyServer.once('connection', (a: Socket) => {
      if (pooled) {
        if (!adoptAccepted(a)) throw new Error('this Node cannot adopt an accepted socket into pooled reads');
        void dialTcp('127.0.0.1', upstreamPort, { pooledReads: true }).then((b) => resolve({ a, b, outcome: splice(a, b, stats) }));
        return;
      }
      // Deliberately default (allowHalfOpen false): splice must make it half-open itself.
      const b = connect(upstreamPort, '127.0.0.1');
      b.once('connect', () => resolve({ a, b, outcome: splice(a, b, stats) }));
    });
  });
  const client = connect({ port: proxyPort, host: '127.0.0.1', allowHalfOpen: true });
  await once(client, 'connect');
  const [{ a, b, outcome }, [upstream]] = await Promise.all([proxied, upstreamAccepted]);
  return {
    client,
    upstream,
    proxyClientSide: a,
    proxyUpstreamSide: b,
    stats,
    outcome,
    async close() {
      for (const s of [client, upstream, a, b]) s.destroy();
      await Promise.all([
        new Promise((r) => upstreamServer.close(r)),
        new Promise((r) => proxyServer.close(r)),
      ]);
    },
  };
}

/** Everything `socket` delivers until its end (or error, which is returned instead). */
export function readAll(socket: Socket): Promise<{ data: Buffer; error?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve({ data: Buffer.concat(chunks) }));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ data: Buffer.concat(chunks), error }));
  });
}
