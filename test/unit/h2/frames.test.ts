// The frame codec: headers encode and parse back, frames are cut out of chunks at any split without a
// copy when they fit one chunk, and a frame above our SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ErrorCode, Flag, FrameParser, FrameType, H2ProtocolError, frameHeader, goawayFrame, headerBlockFrames, pingFrame,
  rstStreamFrame, settingsFrame, windowUpdateFrame, type Frame,
} from '../../../src/dataplane/hbone/h2/frames.js';

/** Parsed frames, with the pieces of a DATA frame that spanned chunks joined back into one. */
function parseAll(chunks: Buffer[], max = 1 << 20): Frame[] {
  const frames: Frame[] = [];
  let joining = false;
  const parser = new FrameParser(max, (f) => {
    const last = frames[frames.length - 1];
    if (joining && f.type === FrameType.DATA && last.stream === f.stream) {
      last.payload = Buffer.concat([last.payload, f.payload]);
      last.flags = f.flags;
    } else {
      frames.push({ ...f, payload: Buffer.from(f.payload) });
    }
    joining = f.type === FrameType.DATA && parser['dataRemaining'] > 0;
  });
  for (const c of chunks) parser.push(c);
  return frames;
}

test('control frames encode to the bytes RFC 9113 lays out', () => {
  assert.equal(frameHeader(0x012345, FrameType.DATA, Flag.END_STREAM, 0x80000007).toString('hex'), '012345000100000007');
  assert.equal(windowUpdateFrame(3, 65535).toString('hex'), '00000408000000000300' + '00ffff');
  assert.equal(rstStreamFrame(5, ErrorCode.CANCEL).toString('hex'), '000004030000000005' + '00000008');
  assert.equal(goawayFrame(9, ErrorCode.ENHANCE_YOUR_CALM, 'x').toString('hex'), '000009070000000000' + '00000009' + '0000000b' + '78');
  assert.equal(settingsFrame([[4, 1 << 20], [5, 1 << 20]]).toString('hex'), '00000c040000000000' + '000400100000' + '000500100000');
  assert.equal(pingFrame(Buffer.from('0102030405060708', 'hex'), true).toString('hex'), '000008060100000000' + '0102030405060708');
});

test('a header block larger than the peer frame size is split into HEADERS + CONTINUATION', () => {
  const block = Buffer.alloc(40_000, 7);
  const frames = parseAll(headerBlockFrames(1, block, true, 16_384));
  assert.deepEqual(frames.map((f) => [f.type, f.flags, f.stream, f.payload.length]), [
    [FrameType.HEADERS, Flag.END_STREAM, 1, 16_384],
    [FrameType.CONTINUATION, 0, 1, 16_384],
    [FrameType.CONTINUATION, Flag.END_HEADERS, 1, 7_232],
  ]);
});

test('frames parse identically whatever the chunk boundaries', () => {
  const wire = Buffer.concat([
    frameHeader(5, FrameType.DATA, 0, 1), Buffer.from('hello'),
    frameHeader(0, FrameType.DATA, Flag.END_STREAM, 1),
    pingFrame(Buffer.alloc(8, 1), false),
    frameHeader(3, 0xfa, 0, 0), Buffer.from('abc'),
  ]);
  const whole = parseAll([wire]).map((f) => [f.type, f.flags, f.stream, f.payload.toString('hex')]);
  assert.deepEqual(whole, [
    [0, 0, 1, Buffer.from('hello').toString('hex')],
    [0, 1, 1, ''],
    [6, 0, 0, '0101010101010101'],
    [0xfa, 0, 0, '616263'],
  ]);
  for (let a = 1; a < wire.length; a++) {
    for (let b = a; b < wire.length; b += 3) {
      const parts = [wire.subarray(0, a), wire.subarray(a, b), wire.subarray(b)];
      assert.deepEqual(parseAll(parts).map((f) => [f.type, f.flags, f.stream, f.payload.toString('hex')]), whole, `split at ${a},${b}`);
    }
  }
});

test('a frame inside one chunk is handed over as a view of that chunk, not a copy', () => {
  const chunk = Buffer.concat([frameHeader(4, FrameType.DATA, 0, 1), Buffer.from('data')]);
  let payload: Buffer | undefined;
  new FrameParser(1 << 20, (f) => (payload = f.payload)).push(chunk);
  assert.equal(payload!.buffer, chunk.buffer);
  assert.equal(payload!.byteOffset, chunk.byteOffset + 9);
});

test('a DATA frame spanning chunks arrives as views of each chunk, END_STREAM on the last piece only', () => {
  const wire = Buffer.concat([frameHeader(10, FrameType.DATA, Flag.END_STREAM, 3), Buffer.from('0123456789')]);
  const chunks = [wire.subarray(0, 5), wire.subarray(5, 12), wire.subarray(12)];
  const pieces: Array<[number, number, string, boolean, number | undefined]> = [];
  const parser = new FrameParser(1 << 20, (f) =>
    pieces.push([f.flags, f.stream, f.payload.toString(), chunks.some((c) => c.buffer === f.payload.buffer && f.payload.byteOffset >= c.byteOffset), f.declaredLength]),
  );
  for (const c of chunks) parser.push(c);
  // The first piece carries the length the frame's header declares, for flow control; the rest do not.
  assert.deepEqual(pieces, [
    [0, 3, '012', true, 10],
    [Flag.END_STREAM, 3, '3456789', true, undefined],
  ]);
  parser.push(Buffer.concat([frameHeader(2, FrameType.DATA, 0, 5), Buffer.from('ab')]));
  const [flags, stream, payload, , declared] = pieces[2]!;
  assert.deepEqual([flags, stream, payload, declared], [0, 5, 'ab', undefined], 'a whole frame declares nothing beyond its payload');
});

test('a frame longer than our SETTINGS_MAX_FRAME_SIZE is a connection FRAME_SIZE_ERROR, also when split', () => {
  const header = frameHeader(16_385, FrameType.DATA, 0, 1);
  const parser = new FrameParser(16_384, () => assert.fail('no frame expected'));
  assert.throws(() => parser.push(header), (e: H2ProtocolError) => e.h2Code === ErrorCode.FRAME_SIZE_ERROR && e.stream === 0 && e.code === 'L4MESH_ERR_HTTP2_CONNECTION');
  const split = new FrameParser(16_384, () => assert.fail('no frame expected'));
  split.push(header.subarray(0, 2));
  assert.throws(() => split.push(header.subarray(2)), (e: H2ProtocolError) => e.h2Code === ErrorCode.FRAME_SIZE_ERROR);
});
