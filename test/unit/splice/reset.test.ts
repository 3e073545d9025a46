// splice turns an abort on one side into a reset on the other, so applications see ECONNRESET.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { READ_MODES, readAll, tcpChain } from './tcp-chain.js';

for (const mode of READ_MODES) {
  test(`${mode}: client RST reaches the upstream as ECONNRESET`, async () => {
    const chain = await tcpChain(mode);
    try {
      const atUpstream = readAll(chain.upstream);
      chain.client.write('partial');
      await new Promise((r) => chain.upstream.once('data', r));
      chain.client.resetAndDestroy();
      const up = await atUpstream;
      assert.equal(up.error?.code, 'ECONNRESET');
      const outcome = await chain.outcome;
      assert.equal((outcome.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET');
      assert.equal(outcome.received, 7);
      assert.equal(outcome.sent, 0);
    } finally {
      await chain.close();
    }
  });

  test(`${mode}: upstream RST reaches the client as ECONNRESET`, async () => {
    const chain = await tcpChain(mode);
    try {
      const atClient = readAll(chain.client);
      chain.upstream.write('abc');
      await new Promise((r) => chain.client.once('data', r));
      chain.upstream.resetAndDestroy();
      const down = await atClient;
      assert.equal(down.error?.code, 'ECONNRESET');
      assert.equal(down.data.toString(), 'abc');
      const outcome = await chain.outcome;
      assert.equal((outcome.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET');
      assert.deepEqual([outcome.received, outcome.sent], [0, 3]);
    } finally {
      await chain.close();
    }
  });

  test(`${mode}: destroying the proxy-side socket resets the far side instead of ending it cleanly`, async () => {
    const chain = await tcpChain(mode);
    try {
      const atUpstream = readAll(chain.upstream);
      chain.proxyClientSide.destroy();
      const up = await atUpstream;
      assert.equal(up.error?.code, 'ECONNRESET');
      const outcome = await chain.outcome;
      assert.equal((outcome.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET');
    } finally {
      await chain.close();
    }
  });
}
