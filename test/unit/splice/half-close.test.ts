// splice keeps one direction flowing after the other has ended (TCP half-close), both ways round.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { READ_MODES, readAll, tcpChain } from './tcp-chain.js';

for (const mode of READ_MODES) {
  test(`${mode}: client ends first: upstream sees the end, still answers, client receives the answer`, async () => {
    const chain = await tcpChain(mode);
    try {
      const atUpstream = readAll(chain.upstream);
      const atClient = readAll(chain.client);
      chain.client.end('request-bytes');
      const up = await atUpstream;
      assert.equal(up.data.toString(), 'request-bytes');
      assert.equal(up.error, undefined);
      // The client's write side is closed; the reverse direction must still be open.
      chain.upstream.end('response-after-client-fin');
      const down = await atClient;
      assert.equal(down.data.toString(), 'response-after-client-fin');
      const outcome = await chain.outcome;
      assert.deepEqual(outcome, { error: undefined, received: 13, sent: 25 });
      assert.equal(chain.stats.received, 13);
      assert.equal(chain.stats.sent, 25);
    } finally {
      await chain.close();
    }
  });

  test(`${mode}: upstream ends first: client sees the end, keeps sending, upstream receives it`, async () => {
    const chain = await tcpChain(mode);
    try {
      const atUpstream = readAll(chain.upstream);
      const atClient = readAll(chain.client);
      chain.upstream.end('early-goodbye');
      const down = await atClient;
      assert.equal(down.data.toString(), 'early-goodbye');
      chain.client.write('still-');
      chain.client.end('talking');
      const up = await atUpstream;
      assert.equal(up.data.toString(), 'still-talking');
      const outcome = await chain.outcome;
      assert.deepEqual(outcome, { error: undefined, received: 13, sent: 13 });
    } finally {
      await chain.close();
    }
  });
}
