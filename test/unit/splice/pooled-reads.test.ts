// Pooled reads: copies land in recycled slabs, a slab is never reused while a chunk in it is unwritten,
// and bytes that arrive before splice() attaches are delivered first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { copyToSlab, onChunks, takeHeadroom, type PooledChunk } from '../../../src/dataplane/pooled-reads.js';
import { dialTcp } from '../../../src/dataplane/dial.js';

const KiB = 1024;

test('copyToSlab copies the sources in order, cut at the requested length', () => {
  const chunk = copyToSlab([Buffer.from('abc'), Buffer.from('defg'), Buffer.from('hij')], 8);
  assert.equal(chunk.bytes.toString(), 'abcdefgh');
  chunk.release();
});

test('a slab whose chunks were all released is reused from its start; a held chunk is never overwritten', () => {
  const held = copyToSlab([Buffer.alloc(100, 0x41)], 100);
  const slab = held.bytes.buffer;
  // Fill well past one slab (1 MiB) while `held` is outstanding: the copies must go elsewhere.
  const others: PooledChunk[] = [];
  for (let i = 0; i < 40; i++) others.push(copyToSlab([Buffer.alloc(64 * KiB, i)], 64 * KiB));
  assert.deepEqual(held.bytes, Buffer.alloc(100, 0x41));
  assert.ok(others.some((c) => c.bytes.buffer !== slab), 'a second slab was taken while the first was held');
  for (const c of others) c.release();
  held.release();
  held.release(); // twice is harmless
  const again = copyToSlab([Buffer.from('reuse')], 5);
  const reused = [slab, ...others.map((c) => c.bytes.buffer)].includes(again.bytes.buffer);
  assert.equal(reused, true, 'the next copy lands in a slab that was released, not a new one');
  again.release();
});

test('a copy longer than a slab gets a buffer of its own, every byte in order', () => {
  const parts = [Buffer.alloc(700 * KiB, 1), Buffer.alloc(700 * KiB, 2)];
  const chunk = copyToSlab(parts, 1_300 * KiB);
  assert.equal(chunk.bytes.length, 1_300 * KiB);
  assert.deepEqual(chunk.bytes, Buffer.concat(parts).subarray(0, 1_300 * KiB));
  chunk.release();
  chunk.retain()();
});

test('a retained chunk keeps its slab from reuse after release(), until the hold is dropped', () => {
  const chunk = copyToSlab([Buffer.alloc(100, 0x42)], 100);
  const slab = chunk.bytes.buffer;
  const drop = chunk.retain();
  chunk.release();
  const others: PooledChunk[] = [];
  for (let i = 0; i < 40; i++) others.push(copyToSlab([Buffer.alloc(64 * KiB, i)], 64 * KiB));
  assert.deepEqual(chunk.bytes, Buffer.alloc(100, 0x42), 'the held bytes were not overwritten');
  const overlapping = others.filter((c) => c.bytes.buffer === slab && c.bytes.byteOffset < chunk.bytes.byteOffset + 100);
  assert.equal(overlapping.length, 0, 'nothing was copied over the held bytes');
  for (const c of others) c.release();
  drop();
  drop(); // twice is harmless
  const again = copyToSlab([Buffer.alloc(64 * KiB, 0x43)], 64 * KiB);
  assert.equal([slab, ...others.map((c) => c.bytes.buffer)].includes(again.bytes.buffer), true, 'a released slab is reused');
  again.release();
});

test('bytes that reach a pooled socket before onChunks() are delivered first, then the rest, then end', async () => {
  const server = createServer((s: Socket) => {
    s.write('early-');
    setTimeout(() => s.end('late'), 50);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = await dialTcp('127.0.0.1', (server.address() as { port: number }).port, { pooledReads: true });
    // Let the early bytes arrive while nobody consumes: they are kept, and reading pauses.
    await new Promise((r) => setTimeout(r, 20));
    const got: string[] = [];
    const ended = once(socket, 'end');
    onChunks(socket, (chunk) => {
      got.push(chunk.bytes.toString());
      chunk.release();
    });
    await ended;
    assert.equal(got.join(''), 'early-late');
    socket.destroy();
  } finally {
    server.close();
  }
});

test('a plain read comes with 9 bytes of headroom, taken once: header and payload are one buffer over the same memory', async () => {
  const payload = Buffer.from('0123456789abcdef');
  const second = Buffer.from('the next read');
  const server = createServer((s: Socket) => {
    s.write(payload);
    setTimeout(() => s.end(second), 50);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = await dialTcp('127.0.0.1', (server.address() as { port: number }).port, { pooledReads: true });
    const chunks: PooledChunk[] = [];
    const ended = once(socket, 'end');
    onChunks(socket, (chunk) => chunks.push(chunk));
    await ended;
    socket.destroy();
    assert.equal(chunks.length, 2, 'two reads, 50 ms apart');
    const [chunk, next] = chunks as [PooledChunk, PooledChunk];
    assert.equal(next.bytes.buffer, chunk.bytes.buffer, 'both reads were copied into one slab');
    takeHeadroom(next.bytes, 9)!.fill(0xdd, 0, 9);
    assert.deepEqual(next.bytes, second);
    assert.deepEqual(chunk.bytes, payload, "the next read's header did not land on this read's bytes");
    assert.deepEqual(chunk.bytes, payload);
    assert.equal(takeHeadroom(chunk.bytes, 10), undefined, 'more than the reserved 9 bytes is refused');
    const framed = takeHeadroom(chunk.bytes, 9, 4)!;
    assert.equal(framed.length, 13, 'the header and the first 4 payload bytes');
    assert.equal(framed.buffer, chunk.bytes.buffer);
    assert.equal(framed.byteOffset, chunk.bytes.byteOffset - 9);
    framed.fill(0xee, 0, 9);
    assert.deepEqual(framed, Buffer.concat([Buffer.alloc(9, 0xee), Buffer.from('0123')]));
    assert.deepEqual(chunk.bytes, payload, 'writing the header leaves the payload as it was');
    assert.equal(takeHeadroom(chunk.bytes, 9), undefined, 'the headroom is given out once');
    chunk.release();
    next.release();
  } finally {
    server.close();
  }
});

test('copies made for any other use have no headroom to give', () => {
  const chunk = copyToSlab([Buffer.from('abc')], 3);
  assert.equal(takeHeadroom(chunk.bytes, 9), undefined);
  assert.equal(takeHeadroom(Buffer.from('abc'), 9), undefined);
  chunk.release();
});
