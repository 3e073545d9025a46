// GOAWAY as our client sees it from a hand-driven server: streams at or below the GOAWAY's last stream
// id keep running, streams above it fail as REFUSED_STREAM (safe to retry), and no new stream opens.
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { H2ClientSession } from '../../../src/dataplane/hbone/h2/client.js';
import {
  CLIENT_PREFACE, ErrorCode, Flag, FrameParser, FrameType, frameHeader, goawayFrame, settingsFrame, type Frame,
} from '../../../src/dataplane/hbone/h2/frames.js';
import { hpackEncode } from '../../../src/dataplane/hbone/h2/hpack.js';
import { waitFor } from './fixture.js';

test('GOAWAY with last stream 1: stream 1 goes on, stream 3 is refused, request() throws', async () => {
  const received: Frame[] = [];
  let serverSocket: Socket | undefined;
  const server = createServer((socket) => {
    serverSocket = socket;
    let preface = Buffer.alloc(0);
    const parser = new FrameParser(1 << 24, (f) => received.push({ ...f, payload: Buffer.from(f.payload) }));
    socket.on('data', (chunk: Buffer) => {
      if (preface.length < CLIENT_PREFACE.length) {
        preface = Buffer.concat([preface, chunk]);
        if (preface.length < CLIENT_PREFACE.length) return;
        parser.push(preface.subarray(CLIENT_PREFACE.length));
        return;
      }
      parser.push(chunk);
    });
    socket.on('error', () => {});
    socket.write(settingsFrame([]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const session = new H2ClientSession(socket);
  try {
    await new Promise((r) => session.once('remoteSettings', r));
    const one = session.request({ ':method': 'CONNECT', ':authority': '10.0.0.1:1' });
    const three = session.request({ ':method': 'CONNECT', ':authority': '10.0.0.1:3' });
    await waitFor('both HEADERS at the server', () => received.filter((f) => f.type === FrameType.HEADERS).length === 2);
    const ok = hpackEncode([[':status', '200']]);
    serverSocket!.write(Buffer.concat([frameHeader(ok.length, FrameType.HEADERS, Flag.END_HEADERS, 1), ok]));
    await new Promise((r) => one.once('response', r));
    const threeFailed = new Promise<Error & { code?: string }>((r) => three.once('error', r));
    const goaway = new Promise<[number, number]>((r) => session.once('goaway', (code: number, last: number) => r([code, last])));
    serverSocket!.write(goawayFrame(1, ErrorCode.NO_ERROR));
    assert.deepEqual(await goaway, [ErrorCode.NO_ERROR, 1]);
    const error = await threeFailed;
    assert.equal(error.code, 'L4MESH_ERR_HTTP2_STREAM_RESET');
    assert.equal(three.rstCode, ErrorCode.REFUSED_STREAM);
    assert.throws(() => session.request({ ':method': 'CONNECT', ':authority': '10.0.0.1:5' }), { code: 'L4MESH_ERR_HTTP2_CONNECTION' });
    one.write(Buffer.from('still open'));
    await waitFor('DATA on stream 1 after the GOAWAY', () => received.some((f) => f.type === FrameType.DATA && f.stream === 1));
    assert.equal(received.find((f) => f.type === FrameType.DATA && f.stream === 1)!.payload.toString(), 'still open');
    assert.equal(session.destroyed, false);
  } finally {
    session.destroy();
    server.close();
  }
});
