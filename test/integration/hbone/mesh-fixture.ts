// Test fixture: an in-process HBONE server with test-PKI identities, a TCP echo upstream on 127.0.0.1,
// and a client pool dialing the server as a source workload.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { HboneClientPool, type HboneClientPoolOptions } from '../../../src/dataplane/hbone/client-pool.js';
import {
  HboneServer,
  type HboneInboundDecision,
  type HboneInboundRequest,
} from '../../../src/dataplane/hbone/server.js';
import type { HboneTransport } from '../../../src/dataplane/hbone/transport.js';
import { LocalIdentityTable } from '../../../src/dataplane/tls/local-identities.js';
import { createTestCa, type TestCa, type TestIdentity } from '../../support/test-pki.js';

export const SRC_ID = 'spiffe://cluster.local/ns/default/sa/productpage';
export const DST_ID = 'spiffe://cluster.local/ns/default/sa/ratings';

export interface MeshFixture {
  ca: TestCa;
  src: TestIdentity;
  dst: TestIdentity;
  server: HboneServer;
  pool: HboneClientPool;
  /** Port of the echo upstream on 127.0.0.1. */
  echoPort: number;
  proxyAddress: { host: string; port: number };
  /** Every request the handler saw, copied as it saw it (the server drops `headers` once it has answered). */
  handled: HboneInboundRequest[];
  /** The request objects themselves. */
  requests: HboneInboundRequest[];
  counts: { sessionsOpened: number; handshakeFailures: number };
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Replaces the default handler (connect to the requested ip:port). */
  decide?: (request: HboneInboundRequest) => Promise<HboneInboundDecision>;
  /** Replaces the server's SNI table. */
  secureContextFor?: (table: LocalIdentityTable, serverName: string) => SecureContext | undefined;
  pool?: Partial<HboneClientPoolOptions>;
  /** What the client pool presents as SRC_ID (defaults to a certificate from the fixture's CA). */
  srcIdentity?: TestIdentity;
  /** HBONE transport of both the server and the pool (the pool's own option wins). */
  transport?: HboneTransport;
}

export function connectUpstream(host: string, port: number): Promise<HboneInboundDecision> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host, port, allowHalfOpen: true });
    socket.once('connect', () => resolve({ status: 200, upstream: socket }));
    socket.once('error', (err) => resolve({ status: 503, reason: err.message }));
  });
}

export async function meshFixture(options: FixtureOptions = {}): Promise<MeshFixture> {
  const ca = await createTestCa();
  const src = options.srcIdentity ?? (await ca.issue(SRC_ID));
  const dst = await ca.issue(DST_ID);
  const table = new LocalIdentityTable();
  table.set(DST_ID, dst);

  // Echo upstream: half-open so it can finish echoing after the client's FIN.
  const echo: Server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {}); // resets are what some tests provoke
    s.pipe(s);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const echoPort = (echo.address() as { port: number }).port;

  const handled: HboneInboundRequest[] = [];
  const requests: HboneInboundRequest[] = [];
  const decide = options.decide ?? ((r: HboneInboundRequest) => connectUpstream(r.host, r.port));
  const server = new HboneServer({
    host: '127.0.0.1',
    port: 0,
    identities: {
      secureContextFor: (name) =>
        options.secureContextFor ? options.secureContextFor(table, name) : table.secureContextFor(name),
    },
    handler: (request) => {
      handled.push({ ...request });
      requests.push(request);
      return decide(request);
    },
    ...(options.transport ? { transport: options.transport } : {}),
  });
  const counts = { sessionsOpened: 0, handshakeFailures: 0 };
  server.on('sessionOpened', () => counts.sessionsOpened++);
  server.on('handshakeFailed', () => counts.handshakeFailures++);
  await server.listen();

  const pool = new HboneClientPool({
    tlsFor: (id) => (id === SRC_ID ? src : undefined),
    ...(options.transport ? { transport: options.transport } : {}),
    ...options.pool,
  });
  return {
    ca,
    src,
    dst,
    server,
    pool,
    echoPort,
    proxyAddress: { host: '127.0.0.1', port: server.address().port },
    handled,
    requests,
    counts,
    async close() {
      await pool.close();
      await server.close(100);
      await new Promise((r) => echo.close(r));
    },
  };
}

/** A CONNECT through the fixture to its echo server, with fixed headers. */
export function connectEcho(f: MeshFixture, headers: Record<string, string> = {}) {
  return f.pool.connect({
    srcIdentity: SRC_ID,
    dstIdentity: DST_ID,
    dstNode: 'node-b',
    proxyAddress: f.proxyAddress,
    authority: `127.0.0.1:${f.echoPort}`,
    headers,
  });
}
