// Our HTTP/2 server against a node:http2 client over TLS (ALPN h2): CONNECT streams echo byte-exact,
// 100 at once, a stalled reader on our side holds only its window, RST_STREAM both ways, 16 KiB peers,
// GOAWAY while streams are open. (node:http2 never exceeds MAX_CONCURRENT_STREAMS: see malformed-peer.)
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type Settings } from 'node:http2';
import { ErrorCode } from '../../../src/dataplane/hbone/h2/frames.js';
import { H2SecureServer } from '../../../src/dataplane/hbone/h2/server.js';
import type { H2Stream } from '../../../src/dataplane/hbone/h2/stream.js';
import { PAYLOAD, echo, sha256, skipHostCheck, streamSizes, tlsMaterial, waitFor, type TlsMaterial } from './fixture.js';

const MiB = 1024 * 1024;
let tls: TlsMaterial;
const servers: H2SecureServer[] = [];
const clients: ClientHttp2Session[] = [];
const ourStreams = new Map<string, H2Stream>();

before(async () => {
  tls = await tlsMaterial();
});

after(async () => {
  for (const c of clients) c.destroy();
  for (const s of servers) {
    s.destroyAll();
    await s.close();
  }
});

/** Our server: 200 and echo for CONNECT, except `:authority` stall:* (answered, never read). */
async function ourServer(maxConcurrentStreams = 100): Promise<{ server: H2SecureServer; port: number }> {
  const server = new H2SecureServer({ key: tls.key, cert: tls.cert }, { maxConcurrentStreams });
  servers.push(server);
  server.on('stream', (stream: H2Stream, headers: Record<string, string | number>) => {
    stream.on('error', () => {});
    ourStreams.set(String(headers[':authority']), stream);
    if (headers[':method'] !== 'CONNECT') return stream.respond({ ':status': 400 }, { endStream: true });
    stream.respond({ ':status': 200 });
    if (!String(headers[':authority']).startsWith('stall')) stream.pipe(stream);
  });
  await server.listen(0, '127.0.0.1');
  return { server, port: server.address().port };
}

async function nodeClient(port: number, settings?: Settings): Promise<ClientHttp2Session> {
  const session = connect(`https://127.0.0.1:${port}`, { ca: tls.ca, checkServerIdentity: skipHostCheck, settings });
  clients.push(session);
  session.on('error', () => {});
  await new Promise((r) => session.once('remoteSettings', r));
  if (settings?.initialWindowSize) session.setLocalWindowSize(100 * settings.initialWindowSize);
  return session;
}

function open(session: ClientHttp2Session, authority: string): Promise<ClientHttp2Stream> {
  const stream = session.request({ ':method': 'CONNECT', ':authority': authority }, { endStream: false });
  return new Promise((resolve, reject) => {
    stream.once('response', (h) => (h[':status'] === 200 ? resolve(stream) : reject(new Error(`status ${h[':status']}`))));
    stream.once('error', reject);
  });
}

test('100 concurrent CONNECT streams of 1 KiB to 8 MiB from a node:http2 client echo byte-exact', async () => {
  const { port } = await ourServer();
  const session = await nodeClient(port, { initialWindowSize: MiB, maxFrameSize: MiB });
  assert.equal(session.remoteSettings.maxConcurrentStreams, 100);
  assert.equal(session.remoteSettings.maxFrameSize, MiB);
  const sizes = streamSizes();
  const results = await Promise.all(sizes.map(async (size, i) => echo(await open(session, `10.1.0.1:${1000 + i}`), PAYLOAD.subarray(i, i + size))));
  results.forEach((r, i) => assert.deepEqual(r, { hash: sha256(PAYLOAD.subarray(i, i + sizes[i])), bytes: sizes[i] }, `stream ${i}`));
});

test('our stalled reader keeps its 1 MiB window of data; the node client\'s other streams finish', async () => {
  const { port } = await ourServer();
  const session = await nodeClient(port, { initialWindowSize: MiB, maxFrameSize: MiB });
  const stalledClient = await open(session, 'stall:1');
  stalledClient.on('data', () => {});
  stalledClient.write(PAYLOAD.subarray(0, 8 * MiB));
  const stalled = ourStreams.get('stall:1')!;
  await waitFor('our stalled stream to use up its window', () => stalled.recvWindow === 0);
  const others = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(async (i) => echo(await open(session, `10.1.0.2:${i}`), PAYLOAD.subarray(i, i + 2 * MiB))));
  others.forEach((r, i) => assert.equal(r.hash, sha256(PAYLOAD.subarray(i, i + 2 * MiB))));
  assert.equal(stalled.recvWindow, 0);
  assert.equal(stalled.queuedBytes + stalled.readableLength, MiB);
  stalledClient.close(constants.NGHTTP2_CANCEL);
});

test('RST_STREAM both ways with a node:http2 client', async () => {
  const { port } = await ourServer();
  const session = await nodeClient(port);
  const a = await open(session, 'stall:rst1');
  const closed = new Promise<number>((r) => a.once('close', () => r(a.rstCode)));
  ourStreams.get('stall:rst1')!.close(ErrorCode.INTERNAL_ERROR);
  assert.equal(await closed, constants.NGHTTP2_INTERNAL_ERROR);

  const b = await open(session, 'stall:rst2');
  const ours = ourStreams.get('stall:rst2')!;
  // As with node:http2, a CANCEL from the peer closes the stream as aborted without an 'error'.
  const errors: Error[] = [];
  ours.on('error', (err) => errors.push(err));
  const oursClosed = once(ours, 'close');
  b.close(constants.NGHTTP2_CANCEL);
  await oursClosed;
  assert.deepEqual(errors, []);
  assert.equal(ours.rstCode, ErrorCode.CANCEL);
  assert.equal(ours.aborted, true);
  const r = await echo(await open(session, '10.1.0.3:1'), PAYLOAD.subarray(0, 100_000));
  assert.equal(r.hash, sha256(PAYLOAD.subarray(0, 100_000)));
});

test('a node:http2 client with default settings (16 KiB frames, 64 KiB windows) interoperates', async () => {
  const { port } = await ourServer();
  const session = await nodeClient(port);
  const results = await Promise.all([0, 1, 2, 3].map(async (i) => echo(await open(session, `10.1.0.4:${i}`), PAYLOAD.subarray(i, i + 3 * MiB))));
  results.forEach((r, i) => assert.deepEqual(r, { hash: sha256(PAYLOAD.subarray(i, i + 3 * MiB)), bytes: 3 * MiB }));
});

test('GOAWAY from our server: open streams finish, the node client opens no new ones', async () => {
  const { server, port } = await ourServer();
  const session = await nodeClient(port, { initialWindowSize: MiB, maxFrameSize: MiB });
  const streams = await Promise.all([0, 1, 2].map((i) => open(session, `10.1.0.5:${i}`)));
  const goaway = new Promise<number>((r) => session.once('goaway', (code) => r(code)));
  const closing = server.close();
  assert.equal(await goaway, constants.NGHTTP2_NO_ERROR);
  assert.throws(() => session.request({ ':method': 'CONNECT', ':authority': '10.1.0.5:9' }), { code: 'ERR_HTTP2_GOAWAY_SESSION' });
  const results = await Promise.all(streams.map((s, i) => echo(s, PAYLOAD.subarray(i, i + MiB))));
  results.forEach((r, i) => assert.equal(r.hash, sha256(PAYLOAD.subarray(i, i + MiB))));
  await closing;
  await waitFor('the node client session to close', () => session.closed || session.destroyed);
});
