// Tunnel lifecycle across HBONE: half-close and resets cross both proxies, idle connections are
// released, and server close() cuts what is left after the grace period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { constants as h2 } from 'node:http2';
import type { HboneStream } from '../../../src/dataplane/hbone/transport.js';
import { createServer, type Server, type Socket } from 'node:net';
import { connectEcho, connectUpstream, meshFixture, DST_ID, SRC_ID, type MeshFixture } from './mesh-fixture.js';
import { eachTransport } from '../../support/transports.js';

/** An upstream that hands each accepted socket to the test instead of echoing. */
async function captureServer(): Promise<{ server: Server; port: number; next: () => Promise<Socket> }> {
  const server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as { port: number }).port,
    next: async () => ((await once(server, 'connection')) as [Socket])[0],
  };
}

function tunnelTo(f: MeshFixture, port: number): Promise<HboneStream> {
  return f.pool.connect({
    srcIdentity: SRC_ID,
    dstIdentity: DST_ID,
    dstNode: 'node-b',
    proxyAddress: f.proxyAddress,
    authority: `127.0.0.1:${port}`,
    headers: {},
  });
}

function collect(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => stream.once('end', () => resolve(Buffer.concat(chunks).toString())));
}

eachTransport('client half-close crosses the tunnel; the upstream answers afterwards', {}, async (transport) => {
  const f = await meshFixture({ transport });
  const up = await captureServer();
  try {
    const accepted = up.next();
    const stream = await tunnelTo(f, up.port);
    const upstream = await accepted;
    const atUpstream = collect(upstream);
    const atClient = collect(stream);
    stream.end('question');
    assert.equal(await atUpstream, 'question');
    upstream.end('answer after FIN');
    assert.equal(await atClient, 'answer after FIN');
  } finally {
    await f.close();
    await new Promise((r) => up.server.close(r));
  }
});

eachTransport('cancelling the client stream resets the upstream connection', {}, async (transport) => {
  const f = await meshFixture({ transport });
  const up = await captureServer();
  try {
    const accepted = up.next();
    const stream = await tunnelTo(f, up.port);
    const upstream = await accepted;
    const closed = once(f.server, 'streamClosed');
    const upstreamError = once(upstream, 'error');
    upstream.resume(); // a paused socket does not read, so it would never notice the RST
    stream.close(h2.NGHTTP2_CANCEL);
    const [err] = (await upstreamError) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNRESET');
    const [, , closeError] = await closed;
    assert.equal((closeError as NodeJS.ErrnoException).code, 'ECONNRESET');
  } finally {
    await f.close();
    await new Promise((r) => up.server.close(r));
  }
});

eachTransport('an upstream reset aborts the client stream with RST_STREAM CANCEL', {}, async (transport) => {
  const f = await meshFixture({ transport });
  const up = await captureServer();
  try {
    const accepted = up.next();
    const stream = await tunnelTo(f, up.port);
    stream.on('error', () => {});
    const upstream = await accepted;
    upstream.resetAndDestroy();
    await once(stream, 'close');
    assert.equal(stream.rstCode, h2.NGHTTP2_CANCEL);
    assert.equal(stream.aborted, true);
  } finally {
    await f.close();
    await new Promise((r) => up.server.close(r));
  }
});

eachTransport('an idle pooled connection is closed after idleTimeoutMs and a new one is dialed later', {}, async (transport) => {
  const f = await meshFixture({ transport, pool: { idleTimeoutMs: 100 } });
  try {
    const first = await connectEcho(f);
    first.end('x');
    first.resume();
    await once(first, 'close');
    assert.equal(f.pool.stats()[0]?.sessions, 1);
    const deadline = Date.now() + 3_000;
    while (f.pool.stats().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    assert.deepEqual(f.pool.stats(), []);
    const second = await connectEcho(f);
    second.end();
    second.resume();
    await once(second, 'close');
    assert.equal(f.counts.sessionsOpened, 2);
  } finally {
    await f.close();
  }
});

eachTransport('server close() waits out the grace period, then resets open tunnels', {}, async (transport) => {
  const f = await meshFixture({ transport, decide: (r) => connectUpstream(r.host, r.port) });
  try {
    const stream = await connectEcho(f);
    stream.on('error', () => {});
    assert.equal(f.server.openStreamCount, 1);
    const started = Date.now();
    await f.server.close(200);
    const took = Date.now() - started;
    assert.ok(took >= 150 && took < 3_000, `close took ${took} ms`);
    if (!stream.closed) await once(stream, 'close');
    assert.equal(f.server.openStreamCount, 0);
    assert.notEqual(stream.rstCode, h2.NGHTTP2_NO_ERROR);
  } finally {
    await f.close();
  }
});
