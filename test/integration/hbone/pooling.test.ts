// The client pool reuses one mutual-TLS connection per key; concurrent streams are spread over up to 4
// connections (4 streams each first, then least-loaded), and a connection never carries more than 100.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connectEcho, meshFixture, DST_ID, SRC_ID } from './mesh-fixture.js';
import { eachTransport } from '../../support/transports.js';

async function echoOnce(stream: import('../../../src/dataplane/hbone/transport.js').HboneStream, text: string): Promise<string> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.end(text);
  await once(stream, 'end');
  return Buffer.concat(chunks).toString();
}

eachTransport('100 sequential streams share one TLS connection', {}, async (transport) => {
  const f = await meshFixture({ transport });
  try {
    for (let i = 0; i < 100; i++) {
      const stream = await connectEcho(f);
      assert.equal(await echoOnce(stream, `ping ${i}`), `ping ${i}`);
      if (!stream.closed) await once(stream, 'close');
    }
    assert.equal(f.counts.sessionsOpened, 1);
    assert.equal(f.handled.length, 100);
    assert.deepEqual(f.pool.stats(), [
      { srcIdentity: SRC_ID, dstIdentity: DST_ID, dstNode: 'node-b', sessions: 1, openStreams: 0 },
    ]);
  } finally {
    await f.close();
  }
});

eachTransport('150 concurrent streams spread over four connections', {}, async (transport) => {
  const f = await meshFixture({ transport });
  try {
    const streams = await Promise.all(Array.from({ length: 150 }, () => connectEcho(f)));
    assert.equal(f.counts.sessionsOpened, 4);
    assert.deepEqual(f.pool.stats(), [
      { srcIdentity: SRC_ID, dstIdentity: DST_ID, dstNode: 'node-b', sessions: 4, openStreams: 150 },
    ]);
    const replies = await Promise.all(streams.map((s, i) => echoOnce(s, `c${i}`)));
    assert.deepEqual(replies, streams.map((_, i) => `c${i}`));
  } finally {
    await f.close();
  }
});

eachTransport('without spreading, 150 concurrent streams open exactly two connections (100 + 50)', {}, async (transport) => {
  const f = await meshFixture({ transport, pool: { spreadConnections: 1 } });
  try {
    const streams = await Promise.all(Array.from({ length: 150 }, () => connectEcho(f)));
    assert.equal(f.counts.sessionsOpened, 2);
    assert.deepEqual(f.pool.stats(), [
      { srcIdentity: SRC_ID, dstIdentity: DST_ID, dstNode: 'node-b', sessions: 2, openStreams: 150 },
    ]);
    const replies = await Promise.all(streams.map((s, i) => echoOnce(s, `c${i}`)));
    assert.deepEqual(replies, streams.map((_, i) => `c${i}`));
  } finally {
    await f.close();
  }
});
