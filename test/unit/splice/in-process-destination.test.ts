// splice into an in-process duplex (the waypoint's socket pair), whose reader keeps the very buffers it is
// given: what the reader holds stays the bytes that were sent, while later reads keep filling slabs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { splice } from '../../../src/dataplane/splice.js';
import { newConnectionStats } from '../../../src/dataplane/connection-stats.js';
import { socketPair } from '../../../src/dataplane/http/duplex-pair.js';
import { dialTcp } from '../../../src/dataplane/dial.js';

const MiB = 1024 * 1024;

/** 3 MiB in which every 4-byte word is its own index: a stale or overwritten region cannot look right. */
function pattern(bytes: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes / 4; i++) b.writeUInt32BE(i, i * 4);
  return b;
}

test('pooled socket → socket pair: chunks the far reader keeps are still the sent bytes after 3 MiB more reads', async () => {
  const sent = pattern(3 * MiB);
  const server = createServer((s: Socket) => s.end(sent));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = await dialTcp('127.0.0.1', (server.address() as { port: number }).port, { pooledReads: true });
    const [near, far] = socketPair();
    // Like a reader that queues what it gets in a write of its own: it keeps references, copies nothing.
    const kept: Buffer[] = [];
    far.on('data', (c: Buffer) => kept.push(c));
    const ended = once(far, 'end');
    const outcome = splice(socket, near, newConnectionStats());
    await ended;
    far.end();
    assert.deepEqual(await outcome, { error: undefined, received: 3 * MiB, sent: 0 });
    const got = Buffer.concat(kept);
    assert.equal(got.length, sent.length);
    let at = 0;
    while (at < got.length && got[at] === sent[at]) at++;
    assert.equal(at, sent.length, `first kept byte that differs from what was sent: offset ${at}`);
  } finally {
    server.close();
  }
});
