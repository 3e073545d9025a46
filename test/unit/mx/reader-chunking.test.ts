// ExchangeReader on a stream cut anywhere: the frame is found across any chunk boundaries, plain traffic is
// handed back untouched and early, truncated frames end in pass-through, oversized lengths allocate nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeExchange,
  ExchangeReader,
  MAX_PAYLOAD_BYTES,
  MX_HEADER_BYTES,
  MX_MAGIC,
  type ExchangeDecision,
  type PeerMetadata,
} from '../../../src/dataplane/mx/codec.js';
import { L4meshError } from '../../../src/errors/index.js';

const META: PeerMetadata = {
  name: 'productpage-v1-6b746f74dc-9stvs',
  namespace: 'bookinfo',
  workloadName: 'productpage-v1',
  clusterId: 'Kubernetes',
  identity: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage',
  labels: { app: 'productpage', version: 'v1' },
};
const NODE_ID = 'sidecar~10.1.0.9~productpage-v1-6b746f74dc-9stvs.bookinfo~bookinfo.svc.cluster.local';
const APP = Buffer.from('GET /productpage HTTP/1.1\r\nHost: productpage\r\n\r\n');

function header(length: number): Buffer {
  const h = Buffer.alloc(MX_HEADER_BYTES);
  h.writeUInt32BE(MX_MAGIC, 0);
  h.writeUInt32BE(length, 4);
  return h;
}

/** Pushes the chunks until a decision; a stream that runs out is ended, as the handshake does at 'end'. */
function feed(chunks: Buffer[]): { decision: ExchangeDecision; pushed: number } {
  const reader = new ExchangeReader();
  let pushed = 0;
  for (const chunk of chunks) {
    pushed++;
    const decision = reader.push(chunk);
    if (decision.kind !== 'need-more') return { decision, pushed };
  }
  return { decision: reader.end(), pushed };
}

test('the frame is found at every two-chunk split point and the app bytes after it come out intact', () => {
  const stream = Buffer.concat([encodeExchange(META, NODE_ID), APP]);
  const frameLength = stream.length - APP.length;
  for (let cut = 0; cut <= stream.length; cut++) {
    const { decision, pushed } = feed([stream.subarray(0, cut), stream.subarray(cut)]);
    assert.equal(decision.kind, 'metadata', `cut at ${cut}`);
    assert.ok(decision.kind === 'metadata');
    assert.deepEqual(decision.metadata, { ...META, nodeId: NODE_ID });
    assert.equal(decision.nodeId, NODE_ID);
    // The frame completes in the first chunk only when the cut is at or past its end.
    const expectedRest = cut >= frameLength ? stream.subarray(frameLength, cut) : APP;
    assert.equal(pushed, cut >= frameLength ? 1 : 2, `cut at ${cut}`);
    assert.equal(decision.rest.toString('hex'), expectedRest.toString('hex'), `cut at ${cut}`);
  }
});

test('one-byte chunks: the decision comes with the last payload byte and the rest is empty', () => {
  const stream = Buffer.concat([encodeExchange(META, NODE_ID), APP]);
  const frameLength = stream.length - APP.length;
  const chunks = [...stream].map((b) => Buffer.from([b]));
  const { decision, pushed } = feed(chunks);
  assert.equal(pushed, frameLength);
  assert.deepEqual(decision, { kind: 'metadata', metadata: { ...META, nodeId: NODE_ID }, nodeId: NODE_ID, rest: Buffer.alloc(0) });
});

test('an HTTP request instead of a header is handed back byte for byte at its first byte', () => {
  const reader = new ExchangeReader();
  const decision = reader.push(APP);
  assert.deepEqual(decision, { kind: 'no-header', bytes: APP });
  // The first byte 'G' (0x47) already differs from 0x3d: nothing waits for a fourth byte.
  assert.deepEqual(new ExchangeReader().push(Buffer.from('G')), { kind: 'no-header', bytes: Buffer.from('G') });
});

test('a partial magic match is held, then everything is handed back at the first mismatching byte', () => {
  const reader = new ExchangeReader();
  assert.deepEqual(reader.push(Buffer.from([0x3d])), { kind: 'need-more' });
  assert.deepEqual(reader.push(Buffer.from([0x23, 0x04])), { kind: 'need-more' });
  assert.equal(reader.bufferedBytes, 3);
  const decision = reader.push(Buffer.from([0x68, 0x01, 0x02]));
  assert.deepEqual(decision, { kind: 'no-header', bytes: Buffer.from([0x3d, 0x23, 0x04, 0x68, 0x01, 0x02]) });
  assert.equal(reader.bufferedBytes, 0);
});

test('a stream ending inside the header or the payload is handed back whole, with no wait', () => {
  const frame = encodeExchange(META, NODE_ID);
  for (const cut of [0, 1, 4, 7]) {
    assert.deepEqual(feed([frame.subarray(0, cut)]).decision, { kind: 'no-header', bytes: frame.subarray(0, cut) }, `cut ${cut}`);
  }
  for (const cut of [8, 9, frame.length - 1]) {
    // Two chunks, so the bytes handed back are a concatenation, not the caller's own buffer.
    const { decision } = feed([frame.subarray(0, 5), frame.subarray(5, cut)]);
    assert.deepEqual(decision, { kind: 'bad-payload', bytes: frame.subarray(0, cut) }, `cut ${cut}`);
  }
});

test('a payload that is not an Any(Struct) is handed back with its header and what followed', () => {
  const garbage = Buffer.from('ffffffffffffffff', 'hex');
  const stream = Buffer.concat([header(garbage.length), garbage, APP]);
  assert.deepEqual(feed([stream]).decision, { kind: 'bad-payload', bytes: stream });
  // An empty payload parses as an Any without a type URL: not ours either.
  assert.deepEqual(feed([Buffer.concat([header(0), APP])]).decision, { kind: 'bad-payload', bytes: Buffer.concat([header(0), APP]) });
});

test('length 0xFFFFFFFF is too large as soon as the header is in, and nothing is allocated for it', () => {
  const before = process.memoryUsage();
  const reader = new ExchangeReader();
  const h = header(0xffffffff);
  assert.deepEqual(reader.push(h.subarray(0, 6)), { kind: 'need-more' });
  const decision = reader.push(Buffer.concat([h.subarray(6), Buffer.alloc(100, 1)]));
  const after = process.memoryUsage();
  assert.deepEqual(decision, { kind: 'too-large', length: 0xffffffff });
  assert.equal(reader.bufferedBytes, 0);
  assert.ok(after.arrayBuffers - before.arrayBuffers < 1024 * 1024, `arrayBuffers grew by ${after.arrayBuffers - before.arrayBuffers}`);
  assert.ok(after.heapUsed - before.heapUsed < 1024 * 1024, `heapUsed grew by ${after.heapUsed - before.heapUsed}`);
  assert.deepEqual(feed([header(MAX_PAYLOAD_BYTES + 1)]).decision, { kind: 'too-large', length: MAX_PAYLOAD_BYTES + 1 });
});

test('a payload of exactly MAX_PAYLOAD_BYTES is read and parsed', () => {
  // A Struct whose one string field pads the Any to exactly the cap.
  let padding = MAX_PAYLOAD_BYTES - 2000;
  let frame = encodeExchange({ ...META, owner: 'x'.repeat(padding) }, NODE_ID);
  padding += MAX_PAYLOAD_BYTES - (frame.length - MX_HEADER_BYTES);
  const meta = { ...META, owner: 'x'.repeat(padding) };
  frame = encodeExchange(meta, NODE_ID);
  assert.equal(frame.readUInt32BE(4), MAX_PAYLOAD_BYTES);
  // 1000-byte chunks: the last one carries the end of the frame and the app bytes.
  const stream = Buffer.concat([frame, APP]);
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 1000) chunks.push(stream.subarray(i, i + 1000));
  const { decision } = feed(chunks);
  assert.deepEqual(decision, { kind: 'metadata', metadata: { ...meta, nodeId: NODE_ID }, nodeId: NODE_ID, rest: APP });
});

test('pushing after a decision is a programming error with L4MESH_ERR_PROTOCOL', () => {
  const reader = new ExchangeReader();
  reader.push(APP);
  assert.equal(reader.decided, true);
  assert.throws(() => reader.push(APP), (err: unknown) => err instanceof L4meshError && err.code === 'L4MESH_ERR_PROTOCOL');
  assert.throws(() => reader.end(), (err: unknown) => err instanceof L4meshError && err.code === 'L4MESH_ERR_PROTOCOL');
});

test('empty chunks change nothing', () => {
  const reader = new ExchangeReader();
  assert.deepEqual(reader.push(Buffer.alloc(0)), { kind: 'need-more' });
  assert.deepEqual(reader.end(), { kind: 'no-header', bytes: Buffer.alloc(0) });
});
