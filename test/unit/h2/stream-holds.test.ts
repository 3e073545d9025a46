// Received DATA that is a view of a pooled read: splice's sink gets the views with their holds, at most 16
// waiting pieces per stream keep a hold (the rest are copied and released at once), the readable side
// gets copies, and a destroyed stream drops the holds it still had.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { H2Stream, type StreamOwner } from '../../../src/dataplane/hbone/h2/stream.js';

const MiB = 1024 * 1024;

function owner(): StreamOwner & { grants: number[] } {
  const grants: number[] = [];
  return {
    grants,
    sendData: (_s, _c, _e, done) => done(),
    sendHeaders: () => {},
    grantWindow: (_s, bytes) => grants.push(bytes),
    resetStream: () => {},
    streamClosed: () => {},
  };
}

/** `n` pieces of 1,000 bytes, piece i filled with byte i, each with a release that records its index. */
function pieces(n: number, released: number[]): Array<{ bytes: Buffer; release: () => void }> {
  return Array.from({ length: n }, (_, i) => ({ bytes: Buffer.alloc(1_000, i), release: () => released.push(i) }));
}

test('a paused sink: 16 waiting pieces keep their holds, the 4 beyond are copied and released at once, order and bytes kept', async () => {
  const stream = new H2Stream(owner(), 1, MiB, MiB);
  const got: Array<{ bytes: Buffer; release: () => void }> = [];
  stream.deliverTo((bytes, release) => got.push({ bytes, release }));
  stream.pause();
  const released: number[] = [];
  const sent = pieces(20, released);
  for (const p of sent) stream.onData(p.bytes, p.bytes.length, false, p.release);
  assert.deepEqual(released, [16, 17, 18, 19]);
  // Their memory may be reused now: the stream must have copies.
  for (const p of sent.slice(16)) p.bytes.fill(0xee);
  assert.equal(got.length, 0);
  stream.resume();
  await tick();
  assert.equal(got.length, 20);
  got.forEach((g, i) => assert.deepEqual(g.bytes, Buffer.alloc(1_000, i), `piece ${i}`));
  // The held pieces reach the sink as the very views, with their own release.
  assert.equal(got[0]!.bytes, sent[0]!.bytes);
  for (const g of got) g.release();
  assert.deepEqual(released.sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
  stream.destroy();
});

test('the readable side gets copies and the holds are dropped as the pieces are pushed', async () => {
  const stream = new H2Stream(owner(), 1, MiB, MiB);
  const got: Buffer[] = [];
  stream.on('data', (b: Buffer) => got.push(b));
  const released: number[] = [];
  const sent = pieces(3, released);
  for (const p of sent) stream.onData(p.bytes, p.bytes.length, false, p.release);
  await tick();
  assert.deepEqual(released, [0, 1, 2]);
  for (const p of sent) p.bytes.fill(0xee);
  assert.deepEqual(Buffer.concat(got), Buffer.concat([Buffer.alloc(1_000, 0), Buffer.alloc(1_000, 1), Buffer.alloc(1_000, 2)]));
  stream.destroy();
});

test('a destroyed stream drops the holds of the pieces still waiting; the sink never sees them', () => {
  const stream = new H2Stream(owner(), 1, MiB, MiB);
  const got: Buffer[] = [];
  stream.deliverTo((bytes) => got.push(bytes));
  stream.pause();
  const released: number[] = [];
  for (const p of pieces(3, released)) stream.onData(p.bytes, p.bytes.length, false, p.release);
  assert.deepEqual(released, []);
  stream.destroy();
  assert.deepEqual(released, [0, 1, 2]);
  assert.equal(got.length, 0);
});

test('the sink: the window is granted back as pieces are handed over, and END_STREAM still ends the readable side', async () => {
  const o = owner();
  const stream = new H2Stream(o, 1, 4_000, MiB);
  const got: Buffer[] = [];
  stream.deliverTo((bytes, release) => {
    got.push(bytes);
    release();
  });
  let ended = false;
  stream.on('end', () => (ended = true));
  const sent = pieces(3, []);
  stream.onData(sent[0]!.bytes, 1_000, false);
  stream.onData(sent[1]!.bytes, 1_000, false);
  // Half the window (2,000 bytes) handed over: granted back.
  assert.deepEqual(o.grants, [2_000]);
  stream.onData(sent[2]!.bytes, 1_000, true);
  await tick();
  await tick();
  assert.equal(got.length, 3);
  assert.equal(ended, true);
  stream.destroy();
});
