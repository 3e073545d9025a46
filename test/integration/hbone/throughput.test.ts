// 64 MiB each way through an HBONE tunnel arrive byte-identical and are counted exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { ConnectionStats } from '../../../src/dataplane/connection-stats.js';
import { connectEcho, meshFixture } from './mesh-fixture.js';
import { eachTransport } from '../../support/transports.js';

const MiB = 1024 * 1024;
const TOTAL = 64 * MiB;
const CHUNK = 1 * MiB;

eachTransport('64 MiB through the tunnel to an echo server and back: identical bytes, exact stats', {}, async (transport) => {
  const f = await meshFixture({ transport });
  try {
    const closed = new Promise<{ stats: ConnectionStats; error?: Error }>((resolve) =>
      f.server.once('streamClosed', (_req, stats, error) => resolve({ stats, error })),
    );
    let opened: ConnectionStats | undefined;
    f.server.once('streamOpened', (_req, stats) => (opened = stats));
    const stream = await connectEcho(f);

    // One random MiB repeated with a varying first byte: the hash catches loss and reordering while
    // the test does not hold 64 MiB of random data.
    const block = randomBytes(CHUNK);
    const sentHash = createHash('sha256');
    const gotHash = createHash('sha256');
    let got = 0;
    stream.on('data', (c: Buffer) => {
      got += c.length;
      gotHash.update(c);
    });
    const ended = new Promise((resolve) => stream.once('end', resolve));
    for (let i = 0; i < TOTAL / CHUNK; i++) {
      const chunk = Buffer.from(block);
      chunk[0] = i & 0xff;
      sentHash.update(chunk);
      if (!stream.write(chunk)) await new Promise((r) => stream.once('drain', r));
    }
    stream.end();
    await ended;

    assert.equal(got, TOTAL);
    assert.equal(gotHash.digest('hex'), sentHash.digest('hex'));
    const { stats, error } = await closed;
    assert.equal(error, undefined);
    assert.equal(stats, opened);
    assert.equal(stats.received, TOTAL);
    assert.equal(stats.sent, TOTAL);
  } finally {
    await f.close();
  }
});
