// exchangeMetadata over real mutual TLS on loopback: both sides learn each other's metadata, application
// bytes after the frame arrive intact, and every fallback (no ALPN, no magic, truncated, oversized, silent
// peer) passes bytes through or closes exactly as specified, with exact counter values.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { encodeExchange, MX_HEADER_BYTES, MX_MAGIC, type PeerMetadata } from '../../../src/dataplane/mx/codec.js';
import { exchangeMetadata, MX_ALPN, type ExchangeResult } from '../../../src/dataplane/mx/handshake.js';
import { createMxStats, type MxStats } from '../../../src/dataplane/mx/stats.js';
import { L4meshError } from '../../../src/errors/index.js';
import { createTestCa, type TestIdentity } from '../../support/test-pki.js';

const SERVER_META: PeerMetadata = {
  name: 'ratings-v1-abc12',
  namespace: 'bookinfo',
  workloadName: 'ratings-v1',
  clusterId: 'Kubernetes',
  identity: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings',
  labels: { app: 'ratings', version: 'v1', 'service.istio.io/canonical-name': 'ratings' },
};
const SERVER_NODE = 'sidecar~127.0.0.1~ratings-v1-abc12.bookinfo~bookinfo.svc.cluster.local';
const CLIENT_META: PeerMetadata = {
  name: 'reviews-v2-def34',
  namespace: 'bookinfo',
  workloadName: 'reviews-v2',
  clusterId: 'Kubernetes',
  identity: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews',
  labels: { app: 'reviews', version: 'v2' },
  region: 'r1',
  zone: 'z1',
};
const CLIENT_NODE = 'sidecar~127.0.0.2~reviews-v2-def34.bookinfo~bookinfo.svc.cluster.local';
const REQUEST = Buffer.from('GET /ratings/0 HTTP/1.1\r\nHost: ratings\r\n\r\n');
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
const ZEROS = { alpnProtocolFound: 0, alpnProtocolNotFound: 0, initialHeaderNotFound: 0, headerNotFound: 0, metadataAdded: 0 };

let serverId: TestIdentity;
let clientId: TestIdentity;
before(async () => {
  const ca = await createTestCa();
  serverId = await ca.issue(SERVER_META.identity!);
  clientId = await ca.issue(CLIENT_META.identity!);
});

interface ServerSide {
  port: number;
  stats: MxStats;
  /** The exchange result (or its error) and every application byte the server then read. */
  outcome: Promise<{ result?: ExchangeResult; error?: unknown; received: Buffer; paused: boolean; dataListeners: number }>;
  /** Settles as soon as the exchange does, before the application bytes are read. */
  exchanged: Promise<unknown>;
  server: Server;
}

/** Reads `head`, then the rest of the socket until the peer ends, as a sidecar would before splicing. */
async function readApplicationBytes(socket: TLSSocket, result: ExchangeResult): Promise<Buffer> {
  const chunks = [result.head];
  if (!result.peerEnded) {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.resume();
    await once(socket, 'end');
  }
  return Buffer.concat(chunks);
}

async function startServer(options: { timeoutMs?: number; reply?: Buffer } = {}): Promise<ServerSide> {
  const stats = createMxStats();
  let deliver!: (v: Awaited<ServerSide['outcome']>) => void;
  const outcome = new Promise<Awaited<ServerSide['outcome']>>((resolve) => (deliver = resolve));
  let exchangeDone!: (v: unknown) => void;
  const exchanged = new Promise<unknown>((resolve) => (exchangeDone = resolve));
  const server = createServer(
    {
      key: serverId.keyPem,
      cert: serverId.chainPem.join(''),
      ca: serverId.rootPem,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: [...MX_ALPN],
    },
    (socket) => {
      socket.on('error', () => {});
      exchangeMetadata(socket, { metadata: SERVER_META, nodeId: SERVER_NODE }, { stats, timeoutMs: options.timeoutMs }).then(
        async (result) => {
          exchangeDone(result);
          const paused = socket.isPaused();
          const dataListeners = socket.listenerCount('data');
          if (options.reply) socket.write(options.reply);
          const received = await readApplicationBytes(socket, result);
          socket.end();
          deliver({ result, received, paused, dataListeners });
        },
        (error: unknown) => {
          exchangeDone(error);
          deliver({ error, received: Buffer.alloc(0), paused: socket.isPaused(), dataListeners: socket.listenerCount('data') });
        },
      );
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, stats, outcome, exchanged, server };
}

async function dial(port: number, alpn: string[] | undefined): Promise<TLSSocket> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    key: clientId.keyPem,
    cert: clientId.chainPem.join(''),
    ca: clientId.rootPem,
    ALPNProtocols: alpn,
    // The leaf names a SPIFFE id, not a host; identity checks are not what this test is about.
    checkServerIdentity: () => undefined,
  });
  socket.on('error', () => {});
  await once(socket, 'secureConnect');
  return socket;
}

/** `head`, then what the socket brings, until `n` bytes are in (bounded by the test timeout). */
async function readExactly(socket: TLSSocket, head: Buffer, n: number): Promise<Buffer> {
  const chunks = [head];
  let total = head.length;
  while (total < n) {
    socket.resume();
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    chunks.push(chunk);
    total += chunk.length;
  }
  socket.pause();
  return Buffer.concat(chunks);
}

/** Everything the client reads until the server ends or closes. */
async function readAll(socket: TLSSocket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.resume();
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

async function stop(side: ServerSide): Promise<void> {
  side.server.close();
  await once(side.server, 'close');
}

function header(length: number): Buffer {
  const h = Buffer.alloc(MX_HEADER_BYTES);
  h.writeUInt32BE(MX_MAGIC, 0);
  h.writeUInt32BE(length, 4);
  return h;
}

test('both sides exchange at once, learn each other, and the app bytes behind the frames arrive intact', async () => {
  const side = await startServer({ reply: RESPONSE });
  try {
    const client = await dial(side.port, [...MX_ALPN]);
    const clientStats = createMxStats();
    const exchange = exchangeMetadata(client, { metadata: CLIENT_META, nodeId: CLIENT_NODE }, { stats: clientStats });
    // Written in the same tick as our frame, so it may reach the server in the frame's own chunk.
    client.write(REQUEST);
    const clientResult = await exchange;
    assert.deepEqual(clientResult.peer, { ...SERVER_META, nodeId: SERVER_NODE });
    assert.equal(clientResult.outcome, 'metadata');
    assert.equal(client.isPaused(), true);
    assert.equal(client.listenerCount('data'), 0);
    // Read the reply before ending: with Node 20, resume() and end() in the same tick on this TLS socket
    // were seen to lose a record that arrived afterwards; the exchange itself is not involved in that.
    const reply = await readExactly(client, clientResult.head, RESPONSE.length);
    assert.equal(reply.toString(), RESPONSE.toString());
    client.end();
    assert.equal((await readAll(client)).length, 0);

    const server = await side.outcome;
    assert.deepEqual(server.result?.peer, { ...CLIENT_META, nodeId: CLIENT_NODE });
    assert.equal(server.result?.outcome, 'metadata');
    assert.equal(server.paused, true);
    assert.equal(server.dataListeners, 0);
    assert.equal(server.received.toString(), REQUEST.toString());
    assert.deepEqual(side.stats, { ...ZEROS, alpnProtocolFound: 1, metadataAdded: 1 });
    assert.deepEqual(clientStats, { ...ZEROS, alpnProtocolFound: 1, metadataAdded: 1 });
  } finally {
    await stop(side);
  }
});

test('a TLS client without the ALPN: nothing is written, not_found counted, its bytes pass through', async () => {
  const side = await startServer();
  try {
    const client = await dial(side.port, undefined);
    assert.equal(client.alpnProtocol, false);
    const clientStats = createMxStats();
    const clientResult = await exchangeMetadata(client, { metadata: CLIENT_META, nodeId: CLIENT_NODE }, { stats: clientStats });
    assert.deepEqual(clientResult, { peer: undefined, head: Buffer.alloc(0), peerEnded: false, outcome: 'alpn-not-negotiated' });
    client.end(REQUEST);
    // The server wrote no frame either: the client reads nothing before the server's end.
    assert.equal((await readAll(client)).length, 0);
    const server = await side.outcome;
    assert.equal(server.result?.outcome, 'alpn-not-negotiated');
    assert.equal(server.received.toString('hex'), REQUEST.toString('hex'));
    assert.deepEqual(side.stats, { ...ZEROS, alpnProtocolNotFound: 1 });
    assert.deepEqual(clientStats, { ...ZEROS, alpnProtocolNotFound: 1 });
  } finally {
    await stop(side);
  }
});

test('the ALPN but no magic: initial_header_not_found, and the HTTP bytes reach the app untouched', async () => {
  const side = await startServer();
  try {
    const client = await dial(side.port, [...MX_ALPN]);
    assert.equal(client.alpnProtocol, 'istio-peer-exchange');
    client.end(REQUEST);
    const fromServer = await readAll(client);
    // The server still wrote its own frame first, as an istio-peer-exchange peer must.
    assert.equal(fromServer.toString('hex'), encodeExchange(SERVER_META, SERVER_NODE).toString('hex'));
    const server = await side.outcome;
    assert.equal(server.result?.outcome, 'no-header');
    assert.equal(server.result?.peer, undefined);
    assert.equal(server.received.toString('hex'), REQUEST.toString('hex'));
    assert.deepEqual(side.stats, { ...ZEROS, alpnProtocolFound: 1, metadataAdded: 1, initialHeaderNotFound: 1 });
  } finally {
    await stop(side);
  }
});

test('a payload cut short by the peer closing: header_not_found, and the bytes read are handed back', async () => {
  const side = await startServer();
  try {
    const client = await dial(side.port, [...MX_ALPN]);
    const truncated = Buffer.concat([header(100), Buffer.from('0123456789')]);
    client.end(truncated);
    await readAll(client);
    const server = await side.outcome;
    assert.equal(server.result?.outcome, 'bad-payload');
    assert.equal(server.result?.peerEnded, true);
    assert.equal(server.received.toString('hex'), truncated.toString('hex'));
    assert.deepEqual(side.stats, { ...ZEROS, alpnProtocolFound: 1, metadataAdded: 1, headerNotFound: 1 });
  } finally {
    await stop(side);
  }
});

test('an announced length of 0xFFFFFFFF closes the connection with L4MESH_ERR_PROTOCOL', async () => {
  const side = await startServer();
  try {
    const client = await dial(side.port, [...MX_ALPN]);
    client.write(header(0xffffffff));
    const closed = readAll(client);
    const server = await side.outcome;
    assert.ok(server.error instanceof L4meshError);
    assert.equal(server.error.code, 'L4MESH_ERR_PROTOCOL');
    assert.match(server.error.message, /^peer metadata of 4294967295 bytes exceeds the 65536-byte limit \(connection with 127\.0\.0\.1:\d+ closed\)/);
    // The client sees the connection go away, after at most the server's own frame (destroy may cut it short).
    const got = await closed;
    assert.equal(got.toString('hex'), encodeExchange(SERVER_META, SERVER_NODE).subarray(0, got.length).toString('hex'));
    assert.equal(client.destroyed, true);
    assert.deepEqual(side.stats, { ...ZEROS, alpnProtocolFound: 1, metadataAdded: 1, headerNotFound: 1 });
  } finally {
    await stop(side);
  }
});

test('a peer that never speaks: after timeoutMs the exchange gives up and passes through', async () => {
  const side = await startServer({ timeoutMs: 200 });
  try {
    const client = await dial(side.port, [...MX_ALPN]);
    // Only the first two magic bytes, then silence: held, then handed back when the wait ends.
    client.write(Buffer.from([0x3d, 0x23]));
    const started = Date.now();
    const result = (await side.exchanged) as ExchangeResult;
    assert.ok(Date.now() - started >= 150, `gave up after ${Date.now() - started} ms`);
    assert.equal(result.outcome, 'timeout');
    assert.equal(result.head.toString('hex'), '3d23');
    client.end(Buffer.from('late'));
    const s = await side.outcome;
    assert.equal(s.received.toString('hex'), Buffer.concat([Buffer.from([0x3d, 0x23]), Buffer.from('late')]).toString('hex'));
    assert.deepEqual(side.stats, { ...ZEROS, alpnProtocolFound: 1, metadataAdded: 1, initialHeaderNotFound: 1 });
    await readAll(client);
  } finally {
    await stop(side);
  }
});
