// Our HTTP/2 client against a node:http2 server over TLS (ALPN h2): CONNECT streams echo byte-exact,
// 100 at once, a stalled reader holds back only its own stream, RST_STREAM both ways, 16 KiB peers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { constants, createSecureServer, type Http2SecureServer, type ServerHttp2Stream, type Settings } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { connectH2, type H2ClientSession } from '../../../src/dataplane/hbone/h2/client.js';
import { ErrorCode } from '../../../src/dataplane/hbone/h2/frames.js';
import type { H2Stream } from '../../../src/dataplane/hbone/h2/stream.js';
import { PAYLOAD, echo, sha256, skipHostCheck, streamSizes, tlsMaterial, waitFor, type TlsMaterial } from './fixture.js';

const MiB = 1024 * 1024;
let tls: TlsMaterial;
const servers: Http2SecureServer[] = [];
const sessions: H2ClientSession[] = [];
const serverStreams = new Map<string, ServerHttp2Stream>();

before(async () => {
  tls = await tlsMaterial();
});

after(async () => {
  for (const s of sessions) s.destroy();
  for (const s of servers) await new Promise((r) => s.close(r));
});

/** A node:http2 server that answers CONNECT with 200 and echoes, except `:authority` stall:1 (never read). */
async function nodeServer(settings: Settings | undefined): Promise<number> {
  const server = createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: false, settings });
  servers.push(server);
  server.on('session', (session) => {
    if (settings?.initialWindowSize) session.setLocalWindowSize(100 * settings.initialWindowSize);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    serverStreams.set(String(headers[':authority']), stream);
    if (headers[':method'] !== 'CONNECT') return stream.respond({ ':status': 400 }, { endStream: true });
    stream.respond({ ':status': 200 });
    if (headers[':authority'] !== 'stall:1') stream.pipe(stream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function client(port: number): Promise<H2ClientSession> {
  const session = await connectH2({ host: '127.0.0.1', port, ca: tls.ca, checkServerIdentity: skipHostCheck });
  sessions.push(session);
  return session;
}

function connect(session: H2ClientSession, authority: string): Promise<H2Stream> {
  const stream = session.request({ ':method': 'CONNECT', ':authority': authority });
  return new Promise((resolve, reject) => {
    stream.once('response', (headers) => (headers[':status'] === 200 ? resolve(stream) : reject(new Error(`status ${headers[':status']}`))));
    stream.once('error', reject);
  });
}

test('100 concurrent CONNECT streams of 1 KiB to 8 MiB echo byte-exact through a node:http2 server', async () => {
  const port = await nodeServer({ initialWindowSize: MiB, maxFrameSize: MiB });
  const session = await client(port);
  assert.equal(session.remoteSettings.maxFrameSize, MiB);
  const sizes = streamSizes();
  const results = await Promise.all(sizes.map(async (size, i) => {
    const stream = await connect(session, `10.0.0.1:${1000 + i}`);
    return echo(stream, PAYLOAD.subarray(i, i + size));
  }));
  results.forEach((r, i) => assert.deepEqual(r, { hash: sha256(PAYLOAD.subarray(i, i + sizes[i])), bytes: sizes[i] }, `stream ${i}`));
  assert.equal(session.openStreamCount, 0);
});

test('a stream whose reader stalls holds at most its window; the other streams on the connection finish', async () => {
  const port = await nodeServer({ initialWindowSize: MiB, maxFrameSize: MiB });
  const session = await client(port);
  const stalled = await connect(session, '10.0.0.2:1');
  stalled.pause();
  let received = 0;
  const stalledDone = echo(stalled, PAYLOAD.subarray(0, 8 * MiB));
  stalled.pause(); // echo() attached a 'data' listener, which resumed the stream
  stalled.on('data', (c: Buffer) => (received += c.length));
  await waitFor('the stalled stream to use up its window', () => stalled.recvWindow === 0);
  const others = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(async (i) => echo(await connect(session, `10.0.0.3:${i}`), PAYLOAD.subarray(i, i + 2 * MiB))));
  others.forEach((r, i) => assert.equal(r.hash, sha256(PAYLOAD.subarray(i, i + 2 * MiB))));
  // Held for the stalled stream: exactly the 1 MiB window we granted, in its queue and readable buffer.
  assert.equal(stalled.recvWindow, 0);
  assert.equal(stalled.queuedBytes + stalled.readableLength, MiB);
  assert.equal(received, 0);
  stalled.resume();
  assert.deepEqual(await stalledDone, { hash: sha256(PAYLOAD.subarray(0, 8 * MiB)), bytes: 8 * MiB });
});

test('RST_STREAM both ways: our close(CANCEL) reaches node as code 8, node close(INTERNAL_ERROR) reaches us as code 2', async () => {
  const port = await nodeServer(undefined);
  const session = await client(port);
  const ours = await connect(session, '10.0.0.4:1');
  const serverSide = serverStreams.get('10.0.0.4:1')!;
  const serverClosed = new Promise<number>((r) => serverSide.once('close', () => r(serverSide.rstCode)));
  ours.close(ErrorCode.CANCEL);
  assert.equal(await serverClosed, constants.NGHTTP2_CANCEL);

  const theirs = await connect(session, '10.0.0.4:2');
  const failed = new Promise<Error & { code?: string }>((r) => theirs.once('error', r));
  serverStreams.get('10.0.0.4:2')!.close(constants.NGHTTP2_INTERNAL_ERROR);
  const error = await failed;
  assert.equal(error.code, 'L4MESH_ERR_HTTP2_STREAM_RESET');
  assert.equal(theirs.rstCode, ErrorCode.INTERNAL_ERROR);
  // The connection outlives both resets.
  const r = await echo(await connect(session, '10.0.0.4:3'), PAYLOAD.subarray(0, 100_000));
  assert.equal(r.hash, sha256(PAYLOAD.subarray(0, 100_000)));
});

test('a node:http2 server with default settings (16 KiB frames, 64 KiB windows) gets frames it accepts', async () => {
  const port = await nodeServer(undefined);
  const session = await client(port);
  assert.equal(session.remoteSettings.maxFrameSize, 16_384);
  const results = await Promise.all([0, 1, 2, 3].map(async (i) => echo(await connect(session, `10.0.0.5:${i}`), PAYLOAD.subarray(i, i + 3 * MiB))));
  results.forEach((r, i) => assert.deepEqual(r, { hash: sha256(PAYLOAD.subarray(i, i + 3 * MiB)), bytes: 3 * MiB }));
});

test('GOAWAY from the node:http2 server: open streams finish, new requests are refused', async () => {
  const port = await nodeServer({ initialWindowSize: MiB, maxFrameSize: MiB });
  const session = await client(port);
  const open = await Promise.all([0, 1, 2].map((i) => connect(session, `10.0.0.6:${i}`)));
  const goaway = new Promise<number>((r) => session.once('goaway', (code: number) => r(code)));
  const nodeSession = serverStreams.get('10.0.0.6:0')!.session!;
  nodeSession.close();
  assert.equal(await goaway, ErrorCode.NO_ERROR);
  assert.throws(() => session.request({ ':method': 'CONNECT', ':authority': '10.0.0.6:9' }), { code: 'L4MESH_ERR_HTTP2_CONNECTION' });
  const results = await Promise.all(open.map((s, i) => echo(s, PAYLOAD.subarray(i, i + MiB))));
  results.forEach((r, i) => assert.equal(r.hash, sha256(PAYLOAD.subarray(i, i + MiB))));
  await waitFor('the connection to close', () => session.destroyed);
});
