// HBONE → plain socket through splice's batching, with a reader that does not read: once the kernel is full
// a batch's write is pending and the stream paused, and END_STREAM arriving then ends the socket only after
// that write finished and the stream was resumed. Every byte arrives in order, every hold on a piece is released, and the splice ends
// cleanly with its byte counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { H2Stream, type StreamOwner } from '../../../src/dataplane/hbone/h2/stream.js';
import { splice } from '../../../src/dataplane/splice.js';
import { newConnectionStats } from '../../../src/dataplane/connection-stats.js';

const MiB = 1024 * 1024;
const PIECE_BYTES = 16 * 1024;
/** 64 MiB: far more than loopback's socket buffers hold. */
const MAX_PIECES = 4096;

function piece(index: number): Buffer {
  const out = Buffer.allocUnsafe(PIECE_BYTES);
  for (let i = 0; i < PIECE_BYTES; i++) out[i] = (index * 31 + i * 7 + (i >> 9)) % 251;
  return out;
}

/** `promise`, or a failure naming `what` once `ms` passed without it. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not come within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

test('HBONE → a socket nobody reads: END_STREAM during a pending write; every byte, then the FIN; holds released, a clean end', async () => {
  const owner: StreamOwner = {
    sendData: (s, _c, end, done) => {
      done();
      if (end) s.onLocalEnd();
    },
    sendHeaders: () => {},
    grantWindow: () => {},
    resetStream: () => {},
    streamClosed: () => {},
  };
  const stream = new H2Stream(owner, 1, MAX_PIECES * PIECE_BYTES, MiB);
  stream.headersReceived = true;

  const server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const proxySide = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, allowHalfOpen: true });
  await once(proxySide, 'connect');
  const [reader] = (await accepted) as [Socket];

  const parts: Buffer[] = [];
  reader.pause();
  reader.on('data', (b: Buffer) => parts.push(b));
  const ended = once(reader, 'end');

  const outcome = splice(proxySide, stream, newConnectionStats());
  let released = 0;
  const expected: Buffer[] = [];
  // One piece per turn, so that each goes out as a batch of its own, until a batch finds the kernel full:
  // its write is pending and the stream is paused, with nothing left in its queue.
  const stop = Date.now() + 20_000;
  while (!stream.isPaused()) {
    assert.ok(expected.length < MAX_PIECES && Date.now() < stop, `${expected.length} pieces in, and no write had to wait`);
    const bytes = piece(expected.length);
    expected.push(bytes);
    stream.onData(bytes, bytes.length, false, () => released++);
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(stream.queuedBytes, 0);
  // END_STREAM now. The paused stream holds its end back, and the socket must not end, until the write is done.
  stream.onRemoteEnd();
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stream.readableEnded, false);
  assert.equal(proxySide.writableEnded, false, 'the socket was ended before its pending write finished');
  reader.resume();
  await within(ended, 20_000, 'the FIN after the last byte');
  const got = Buffer.concat(parts);
  const want = Buffer.concat(expected);
  assert.equal(got.length, want.length);
  assert.ok(got.equals(want));
  assert.equal(released, expected.length);

  // The other direction ends too, and the splice reports a clean close with the byte counts.
  reader.end();
  const result = await within(outcome, 20_000, 'the end of the splice');
  assert.equal(result.error, undefined);
  assert.equal(result.received, 0);
  assert.equal(result.sent, expected.length * PIECE_BYTES);
  server.close();
});
