// A SocketWriter's batch (splice's coalesced write, the session's frames): pieces that follow one another in the same memory go as one view, and
// nothing is copied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinAdjacent } from '../../../src/dataplane/socket-writer.js';

test('runs of adjacent views become one view over the same memory; gaps, other buffers and order are kept', () => {
  // Buffers of their own (not Node's shared pool), like two slabs.
  const own = (text: string): Buffer => {
    const b = Buffer.allocUnsafeSlow(text.length);
    b.write(text);
    return b;
  };
  const slab = own('abcdefghijklmnopqrstuvwxyz');
  const other = own('0123456789');
  const pieces = [slab.subarray(0, 3), slab.subarray(3, 5), slab.subarray(5, 9), slab.subarray(10, 12), other.subarray(0, 4), other.subarray(4, 6), slab.subarray(12, 13)];
  const joined = joinAdjacent(pieces);
  assert.deepEqual(
    joined.map((b) => [b.toString(), b.byteOffset]),
    [
      ['abcdefghi', 0],
      ['kl', 10],
      ['012345', 0],
      ['m', 12],
    ],
  );
  assert.ok(joined[0]!.buffer === slab.buffer && joined[2]!.buffer === other.buffer, 'views, not copies');
  assert.equal(Buffer.concat(joined).toString(), Buffer.concat(pieces).toString());
});

test('zero or one piece is returned as it is', () => {
  const one = [Buffer.from('x')];
  assert.equal(joinAdjacent(one), one);
  assert.deepEqual(joinAdjacent([]), []);
});
