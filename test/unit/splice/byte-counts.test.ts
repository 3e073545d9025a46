// splice delivers every byte in order under backpressure and counts exactly what it moved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { READ_MODES, readAll, tcpChain } from './tcp-chain.js';

const MiB = 1024 * 1024;

/** Polls `check` every 5 ms until it returns a value; fails after 10 s. */
async function waitFor<T>(check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('no backpressure within 10 s: the proxy never paused reading the client');
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const mode of READ_MODES) {
  test(`${mode}: 8 MiB up and 5 MiB + 3 bytes down arrive identical, counted exactly`, async () => {
    const chain = await tcpChain(mode);
    try {
      const up = randomBytes(8 * MiB);
      const down = randomBytes(5 * MiB + 3);
      // Nobody reads at the upstream until the client has written everything: forces backpressure.
      chain.upstream.pause();
      const atClient = readAll(chain.client);
      chain.client.end(up);
      // Backpressure, observed: the proxy's write toward the upstream returned false (writableNeedDrain)
      // and splice paused its read of the client, with part of the 8 MiB not yet taken from the client.
      const backpressure = await waitFor(() => {
        const seen = { needDrain: chain.proxyUpstreamSide.writableNeedDrain, paused: chain.proxyClientSide.isPaused(), movedAll: chain.stats.received === up.length };
        return seen.needDrain && seen.paused ? seen : undefined;
      });
      assert.deepEqual(backpressure, { needDrain: true, paused: true, movedAll: false });
      const atUpstream = readAll(chain.upstream);
      chain.upstream.resume();
      chain.upstream.end(down);
      const [u, d] = await Promise.all([atUpstream, atClient]);
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      assert.equal(u.data.length, up.length);
      assert.equal(sha(u.data), sha(up));
      assert.equal(d.data.length, down.length);
      assert.equal(sha(d.data), sha(down));
      const outcome = await chain.outcome;
      assert.deepEqual(outcome, { error: undefined, received: 8 * MiB, sent: 5 * MiB + 3 });
    } finally {
      await chain.close();
    }
  });
}
