// Our server session against a hand-driven peer on a loopback socket: malformed and abusive frames are
// answered with the RFC 9113 GOAWAY/RST_STREAM code, the process never crashes, and the server's
// SETTINGS_MAX_CONCURRENT_STREAMS refuses the stream beyond it.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  CLIENT_PREFACE, ErrorCode, Flag, FrameParser, FrameType, frameHeader, pingFrame, settingsFrame, windowUpdateFrame, type Frame,
} from '../../../src/dataplane/hbone/h2/frames.js';
import { hpackEncode } from '../../../src/dataplane/hbone/h2/hpack.js';
import { H2ServerSession } from '../../../src/dataplane/hbone/h2/server.js';
import type { H2SessionOptions } from '../../../src/dataplane/hbone/h2/session.js';
import { waitFor } from './fixture.js';

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

interface Peer {
  socket: Socket;
  frames: Frame[];
  /** Request headers of the streams the server accepted, in order. */
  requests: Array<Record<string, string | string[] | undefined>>;
  closed: () => boolean;
  send(...parts: Buffer[]): void;
  /** Resolves with the first received frame of `type` (after SETTINGS exchange frames). */
  next(type: number): Promise<Frame>;
}

async function peer(options: H2SessionOptions = {}, handshake = true): Promise<Peer> {
  const requests: Peer['requests'] = [];
  const server = createServer((socket) => {
    const session = new H2ServerSession(socket, options);
    session.on('stream', (stream, headers: Peer['requests'][number]) => {
      requests.push(headers);
      stream.on('error', () => {});
      stream.respond({ ':status': 200 });
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const frames: Frame[] = [];
  let isClosed = false;
  socket.on('close', () => (isClosed = true));
  socket.on('error', () => {});
  const parser = new FrameParser(1 << 24, (f) => frames.push({ ...f, payload: Buffer.from(f.payload) }));
  socket.on('data', (c: Buffer) => parser.push(c));
  await new Promise((r) => socket.once('connect', r));
  const p: Peer = {
    socket,
    frames,
    requests,
    closed: () => isClosed,
    send: (...parts) => socket.write(Buffer.concat(parts)),
    async next(type) {
      await waitFor(`frame type ${type}`, () => frames.some((f) => f.type === type), 20_000);
      return frames.splice(frames.findIndex((f) => f.type === type), 1)[0];
    },
  };
  if (handshake) p.send(CLIENT_PREFACE, settingsFrame([]));
  return p;
}

async function expectGoaway(p: Peer, code: number): Promise<void> {
  const goaway = await p.next(FrameType.GOAWAY);
  assert.equal(goaway.payload.readUInt32BE(4), code, goaway.payload.subarray(8).toString());
  await waitFor('the connection to close', p.closed, 20_000);
}

async function expectReset(p: Peer, stream: number, code: number): Promise<void> {
  const rst = await p.next(FrameType.RST_STREAM);
  assert.deepEqual([rst.stream, rst.payload.readUInt32BE(0)], [stream, code]);
}

/** The connection still answers: a PING (sent after `before`) comes back. */
async function expectStillUp(p: Peer, ...before: Buffer[]): Promise<void> {
  p.send(...before, pingFrame(Buffer.from('stillup!'), false));
  assert.equal((await p.next(FrameType.PING)).payload.toString(), 'stillup!');
}

/** A peer whose CONNECT stream 1 the server accepted, with a stream window of 16,384 bytes. */
async function streamOnSmallWindow(): Promise<Peer> {
  const p = await peer({ streamWindowBytes: 16_384 });
  p.send(headers(1, CONNECT));
  assert.equal((await p.next(FrameType.HEADERS)).stream, 1);
  return p;
}

function headers(stream: number, fields: Array<[string, string]>, flags = Flag.END_HEADERS): Buffer {
  const block = hpackEncode(fields);
  return Buffer.concat([frameHeader(block.length, FrameType.HEADERS, flags, stream), block]);
}
const CONNECT: Array<[string, string]> = [[':method', 'CONNECT'], [':authority', '10.0.0.1:80']];

test('unknown frame types are ignored and PING is answered with the same 8 bytes', async () => {
  const p = await peer();
  p.send(frameHeader(3, 0xfa, 0xff, 0), Buffer.from('abc'), pingFrame(Buffer.from('l4meshh2'), false));
  const ack = await p.next(FrameType.PING);
  assert.equal(ack.flags, Flag.ACK);
  assert.equal(ack.payload.toString(), 'l4meshh2');
  assert.equal(p.closed(), false);
  p.socket.destroy();
});

test('a PING of 7 bytes is a connection FRAME_SIZE_ERROR', async () => {
  const p = await peer();
  p.send(frameHeader(7, FrameType.PING, 0, 0), Buffer.alloc(7));
  await expectGoaway(p, ErrorCode.FRAME_SIZE_ERROR);
});

test('a frame longer than our 1 MiB SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR before its payload arrives', async () => {
  const p = await peer();
  p.send(headers(1, CONNECT), frameHeader((1 << 20) + 1, FrameType.DATA, 0, 1));
  await expectGoaway(p, ErrorCode.FRAME_SIZE_ERROR);
});

test('a HEADERS + CONTINUATION bomb (more than 64 KiB of header block) gets GOAWAY ENHANCE_YOUR_CALM', async () => {
  const p = await peer();
  p.send(frameHeader(16_384, FrameType.HEADERS, 0, 1), Buffer.alloc(16_384, 0x82));
  for (let i = 0; i < 5; i++) p.send(frameHeader(16_384, FrameType.CONTINUATION, 0, 1), Buffer.alloc(16_384, 0x82));
  await expectGoaway(p, ErrorCode.ENHANCE_YOUR_CALM);
});

test('a small block that repeats a 3000-byte table entry beyond the header list cap gets ENHANCE_YOUR_CALM', async () => {
  const p = await peer();
  const insert = Buffer.concat([Buffer.from([0x40, 1]), Buffer.from('k'), Buffer.from([0x7f, 0xb9, 0x16]), Buffer.alloc(3000, 0x76)]);
  const block = Buffer.concat([Buffer.from([0x82]), insert, Buffer.alloc(100, 0xbe)]);
  p.send(frameHeader(block.length, FrameType.HEADERS, Flag.END_HEADERS, 1), block);
  await expectGoaway(p, ErrorCode.ENHANCE_YOUR_CALM);
});

test('a header block that does not decode is a COMPRESSION_ERROR', async () => {
  const p = await peer();
  p.send(frameHeader(1, FrameType.HEADERS, Flag.END_HEADERS, 1), Buffer.from([0xc6]));
  await expectGoaway(p, ErrorCode.COMPRESSION_ERROR);
});

test('a frame between HEADERS and its CONTINUATION is a PROTOCOL_ERROR', async () => {
  const p = await peer();
  p.send(frameHeader(1, FrameType.HEADERS, 0, 1), Buffer.from([0x82]), pingFrame(Buffer.alloc(8), false));
  await expectGoaway(p, ErrorCode.PROTOCOL_ERROR);
});

test('a wrong client preface and a first frame other than SETTINGS are PROTOCOL_ERRORs', async () => {
  const a = await peer({}, false);
  a.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await expectGoaway(a, ErrorCode.PROTOCOL_ERROR);
  const b = await peer({}, false);
  b.send(CLIENT_PREFACE, pingFrame(Buffer.alloc(8), false));
  await expectGoaway(b, ErrorCode.PROTOCOL_ERROR);
});

test('DATA padding as long as the frame is a PROTOCOL_ERROR', async () => {
  const p = await peer();
  p.send(headers(1, CONNECT), frameHeader(4, FrameType.DATA, Flag.PADDED, 1), Buffer.from([4, 0, 0, 0]));
  await expectGoaway(p, ErrorCode.PROTOCOL_ERROR);
});

test('a connection WINDOW_UPDATE past 2^31-1 is a FLOW_CONTROL_ERROR; one of 0 is a PROTOCOL_ERROR', async () => {
  const a = await peer();
  a.send(windowUpdateFrame(0, 0x7fffffff));
  await expectGoaway(a, ErrorCode.FLOW_CONTROL_ERROR);
  const b = await peer();
  b.send(windowUpdateFrame(0, 0));
  await expectGoaway(b, ErrorCode.PROTOCOL_ERROR);
});

test('DATA beyond a stream window resets that stream with FLOW_CONTROL_ERROR; the connection goes on', async () => {
  const p = await streamOnSmallWindow();
  p.send(frameHeader(16_385, FrameType.DATA, 0, 1), Buffer.alloc(16_385));
  await expectReset(p, 1, ErrorCode.FLOW_CONTROL_ERROR);
  await expectStillUp(p);
  p.socket.destroy();
});

test('a DATA frame beyond the stream window is refused at its first piece when it arrives in two reads', async () => {
  const p = await streamOnSmallWindow();
  // Checked piece by piece, the first 16,000 bytes would fit, the stream's readable side would take them
  // and grant them back, and the last 385 bytes would fit the reopened window: the frame must be judged by
  // the length its header declares.
  p.send(frameHeader(16_385, FrameType.DATA, 0, 1), Buffer.alloc(16_000));
  await expectReset(p, 1, ErrorCode.FLOW_CONTROL_ERROR);
  assert.equal(p.frames.some((f) => f.type === FrameType.WINDOW_UPDATE && f.stream === 1), false, 'nothing of the frame was granted back');
  // The rest of the frame is ignored (its stream is reset) and the connection goes on.
  await expectStillUp(p, Buffer.alloc(385));
  p.socket.destroy();
});

test('a header block continued in a later socket read decodes intact (the first part is not a view of a reused read)', async () => {
  const p = await peer();
  const block = hpackEncode([...CONNECT, ['x-marker', 'first-read-second-read']]);
  const cut = 6;
  // A PING round trip first, so the preface (which the server copies while checking it) is behind us.
  p.send(pingFrame(Buffer.from('prefaced'), false));
  await p.next(FrameType.PING);
  p.send(frameHeader(cut, FrameType.HEADERS, 0, 1), block.subarray(0, cut));
  // The server has read and parsed the first part; the next read lands in memory the first one used.
  await new Promise((r) => setTimeout(r, 50));
  p.send(frameHeader(block.length - cut, FrameType.CONTINUATION, Flag.END_HEADERS, 1), block.subarray(cut));
  assert.equal((await p.next(FrameType.HEADERS)).stream, 1);
  assert.deepEqual(
    [p.requests[0]?.[':method'], p.requests[0]?.[':authority'], p.requests[0]?.['x-marker']],
    ['CONNECT', '10.0.0.1:80', 'first-read-second-read'],
  );
  assert.equal(p.frames.some((f) => f.type === FrameType.GOAWAY), false);
  p.socket.destroy();
});

test('SETTINGS_MAX_CONCURRENT_STREAMS 2: streams 1 and 3 are answered, stream 5 gets REFUSED_STREAM', async () => {
  const p = await peer({ maxConcurrentStreams: 2 });
  const settings = await p.next(FrameType.SETTINGS);
  const advertised = new Map<number, number>();
  for (let at = 0; at < settings.payload.length; at += 6) advertised.set(settings.payload.readUInt16BE(at), settings.payload.readUInt32BE(at + 2));
  assert.deepEqual([...advertised].sort((x, y) => x[0] - y[0]), [[2, 0], [3, 2], [4, 1 << 20], [5, 1 << 20], [6, 16_384]]);
  p.send(headers(1, CONNECT), headers(3, CONNECT), headers(5, CONNECT));
  await expectReset(p, 5, ErrorCode.REFUSED_STREAM);
  const answered = [(await p.next(FrameType.HEADERS)).stream, (await p.next(FrameType.HEADERS)).stream];
  assert.deepEqual(answered, [1, 3]);
  p.socket.destroy();
});
