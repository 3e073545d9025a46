// splice's 'close' listeners: plain listeners (no `once` wrapper an idle connection would keep), and a
// repeated 'close' on one side neither settles the splice nor counts that side twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { splice } from '../../../src/dataplane/splice.js';

/** A side whose two directions end only when the test says so. */
const side = (): Duplex =>
  new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

test('one close listener per side, not a once wrapper; a repeated close from one side does not settle', async () => {
  const a = side();
  const b = side();
  let settled = false;
  const done = splice(a, b, { received: 0, sent: 0, openedAt: 0 }).then((outcome) => {
    settled = true;
    return outcome;
  });
  for (const s of [a, b]) {
    const raw = s.rawListeners('close');
    assert.equal(raw.length, 1);
    // A `once` wrapper carries the original as `.listener`.
    assert.equal((raw[0] as { listener?: unknown }).listener, undefined);
  }
  // a finishes both directions and closes cleanly (aborting nothing); then it reports 'close' once more.
  a.push(null);
  a.end();
  for (let i = 0; i < 100 && !a.closed; i++) await new Promise((r) => setImmediate(r));
  assert.ok(a.closed);
  a.emit('close');
  await new Promise((r) => setImmediate(r));
  assert.equal(b.destroyed, false);
  assert.equal(settled, false, 'b is still open: a counts once');
  // b's reader side ends too (its writable side was ended by the splice when a's data ended).
  b.push(null);
  const outcome = await done;
  assert.deepEqual(outcome, { error: undefined, received: 0, sent: 0 });
});
