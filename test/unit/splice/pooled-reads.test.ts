// Pooled reads: copies land in recycled slabs, a slab is never reused while a chunk in it is unwritten,
// and bytes that arrive before splice() attaches are delivered first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { copyToSlab, onChunks, readPooledChunks, takeHeadroom, type PooledChunk } from '../../../src/dataplane/pooled-reads.js';
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
  /** Every chunk of one connection to the server, read through pooled reads until its end. */
  const readAll = async (): Promise<PooledChunk[]> => {
    const socket = await dialTcp('127.0.0.1', (server.address() as { port: number }).port, { pooledReads: true });
    const chunks: PooledChunk[] = [];
    const ended = once(socket, 'end');
    onChunks(socket, (chunk) => chunks.push(chunk));
    await ended;
    socket.destroy();
    return chunks;
  };
  try {
    const chunks = await readAll();
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

    // A read whose headroom was never taken: once released, its slab is empty again and gives none for it.
    const late = await readAll();
    const first = late[0]!;
    assert.deepEqual(first.bytes, payload);
    const before = first.bytes;
    for (const c of late) c.release();
    assert.equal(takeHeadroom(before, 9), undefined, 'a released read has no headroom left');
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

/**
 * A loopback pair whose accepted side reads through readPooledChunks; `keep` says whether a chunk is held
 * past the handler (kept chunks go to `kept`, with their hold as `release`).
 */
async function readingPair(kept: PooledChunk[], keep: (chunk: PooledChunk) => boolean = () => true): Promise<{ client: Socket; ended: Promise<unknown>; close(): void }> {
  let accepted: (s: Socket) => void = () => {};
  const server = createServer((s: Socket) => accepted(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const serverSide = new Promise<Socket>((r) => (accepted = r));
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  await once(client, 'connect');
  const socket = await serverSide;
  const pooled = readPooledChunks(socket, (chunk) => {
    if (keep(chunk)) kept.push({ bytes: chunk.bytes, release: chunk.retain(), retain: chunk.retain });
  });
  assert.equal(pooled, true);
  return { client, ended: once(socket, 'end'), close: () => (socket.destroy(), server.close()) };
}

test('readPooledChunks: each read lands where the previous one ended, in 16 KiB regions, every byte in order', async () => {
  const chunks: PooledChunk[] = [];
  const pair = await readingPair(chunks);
  const sent = Buffer.alloc(40_000);
  for (let i = 0; i < sent.length; i++) sent[i] = (i * 7) % 251;
  pair.client.end(sent);
  await pair.ended;
  pair.close();
  assert.deepEqual(Buffer.concat(chunks.map((c) => c.bytes)), sent);
  assert.ok(chunks.length >= 3 && chunks.every((c) => c.bytes.length <= 16 * KiB), `reads of at most 16 KiB: ${chunks.map((c) => c.bytes.length)}`);
  // Reads follow one another in memory until a 64 KiB slab is full.
  for (let i = 1; i < chunks.length; i++) {
    const [prev, next] = [chunks[i - 1]!.bytes, chunks[i]!.bytes];
    if (next.buffer === prev.buffer) assert.equal(next.byteOffset, prev.byteOffset + prev.length, `read ${i} follows read ${i - 1}`);
  }
  for (const c of chunks) c.release();
});

test('readPooledChunks: a chunk still held keeps its bytes while 1 MiB more is read into recycled slabs', async () => {
  const kept: PooledChunk[] = [];
  let later = 0;
  let wrong = 0;
  const slabs = new Set<ArrayBufferLike>();
  const pair = await readingPair(kept, (chunk) => {
    if (kept.length === 0) return true;
    // Later chunks are checked and dropped at once, so their slabs are reused while the first is held.
    later += chunk.bytes.length;
    if (!chunk.bytes.every((b) => b === 0xa5)) wrong++;
    slabs.add(chunk.bytes.buffer);
    return false;
  });
  pair.client.write(Buffer.alloc(1000, 0x5a));
  for (let i = 0; i < 200 && kept.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  const first = kept[0]!;
  assert.deepEqual(first.bytes, Buffer.alloc(1000, 0x5a));
  pair.client.end(Buffer.alloc(1024 * KiB, 0xa5));
  await pair.ended;
  pair.close();
  assert.deepEqual([later, wrong], [1024 * KiB, 0]);
  assert.ok(slabs.size < 16, `1 MiB went through ${slabs.size} slabs of 64 KiB: released ones were reused`);
  assert.deepEqual(first.bytes, Buffer.alloc(1000, 0x5a), 'the held bytes were not read over');
  first.release();
});
