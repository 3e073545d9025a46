// The HBONE server advertises SETTINGS_MAX_CONCURRENT_STREAMS (issue 13 item 5): our pool opens another
// connection when a connection is full, and a raw HTTP/2 client that opens more streams than the limit has
// the excess refused (REFUSED_STREAM) instead of getting one upstream socket per stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { constants as h2 } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { createHboneSecureContext, hboneClientTlsOptions } from '../../../src/dataplane/tls/secure-context.js';
import { hboneServerName } from '../../../src/dataplane/tls/server-name.js';
import { HBONE_MAX_CONCURRENT_STREAMS } from '../../../src/dataplane/hbone/settings.js';
import { connectEcho, connectUpstream, meshFixture, DST_ID, SRC_ID } from './mesh-fixture.js';
import { eachTransport } from '../../support/transports.js';

eachTransport('the server advertises its stream limit and the pool opens a second connection past it', { timeout: 60_000 }, async (transport) => {
  // Our own cap far above the server's, and no spreading: only the server's limit can cause a second connection.
  const f = await meshFixture({ transport, pool: { maxStreamsPerConnection: 1000, spreadConnections: 1 } });
  try {
    assert.equal(HBONE_MAX_CONCURRENT_STREAMS, 100);
    const streams = await Promise.all(Array.from({ length: 150 }, () => connectEcho(f)));
    assert.equal(f.counts.sessionsOpened, 2);
    assert.deepEqual(f.pool.stats(), [
      { srcIdentity: SRC_ID, dstIdentity: DST_ID, dstNode: 'node-b', sessions: 2, openStreams: 150 },
    ]);
    assert.equal(f.handled.length, 150);
    for (const s of streams) s.close(h2.NGHTTP2_CANCEL);
  } finally {
    await f.close();
  }
});

const FRAME = { HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, GOAWAY: 0x7 } as const;
const END_HEADERS = 0x4;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** HPACK literals without indexing, by static-table name: `:method: CONNECT`, `:authority: <authority>`. */
function connectHeaderBlock(authority: string): Buffer {
  return Buffer.concat([Buffer.from([0x02, 7]), Buffer.from('CONNECT'), Buffer.from([0x01, authority.length]), Buffer.from(authority)]);
}

eachTransport('a raw HTTP/2 client sending 300 CONNECTs at once gets 100 answered and 200 refused', { timeout: 60_000 }, async (transport) => {
  let upstreams = 0;
  const f = await meshFixture({
    transport,
    decide: (r) => {
      upstreams++;
      return connectUpstream(r.host, r.port);
    },
  });
  const context = createHboneSecureContext(f.src);
  const where = `127.0.0.1:${f.proxyAddress.port}`;
  // Node's own client would queue streams past the limit; raw frames show what the server does with them.
  const socket = tlsConnect({ host: '127.0.0.1', port: f.proxyAddress.port, ...hboneClientTlsOptions(context, hboneServerName(DST_ID), DST_ID, where) });
  socket.on('error', () => {});
  try {
    await once(socket, 'secureConnect');
    const block = connectHeaderBlock(`127.0.0.1:${f.echoPort}`);
    const frames = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0))];
    for (let i = 0; i < 300; i++) frames.push(frame(FRAME.HEADERS, END_HEADERS, 1 + 2 * i, block));
    socket.write(Buffer.concat(frames));

    const answered = new Set<number>();
    const refused = new Set<number>();
    const other: string[] = [];
    let buffered = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${answered.size} answered and ${refused.size} refused`)), 30_000);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 9) {
          const length = buffered.readUIntBE(0, 3);
          if (buffered.length < 9 + length) break;
          const type = buffered[3];
          const streamId = buffered.readUInt32BE(5) & 0x7fffffff;
          const payload = buffered.subarray(9, 9 + length);
          buffered = buffered.subarray(9 + length);
          // 0x88 is HPACK's indexed `:status: 200`.
          if (type === FRAME.HEADERS) {
            if (payload[0] === 0x88) answered.add(streamId);
            else other.push(`HEADERS ${payload[0]} on ${streamId}`);
          } else if (type === FRAME.RST_STREAM) {
            if (payload.readUInt32BE(0) === h2.NGHTTP2_REFUSED_STREAM) refused.add(streamId);
            else other.push(`RST_STREAM ${payload.readUInt32BE(0)} on ${streamId}`);
          } else if (type === FRAME.GOAWAY) other.push(`GOAWAY ${payload.readUInt32BE(4)}`);
        }
        if (answered.size + refused.size + other.length >= 300) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    assert.deepEqual(other, []);
    assert.deepEqual({ answered: answered.size, refused: refused.size }, { answered: 100, refused: 200 });
    assert.equal(upstreams, 100);
    assert.equal(f.server.openStreamCount, 100);
  } finally {
    socket.destroy();
    await f.close();
  }
});
