// The database's front (samples/bookinfo/src/postgres-front.ts) against a recording backend on a Unix
// socket: 'N' to GSSENCRequest and SSLRequest, the startup packet and queries passed on byte for byte,
// a message type no client sends answered with SQLSTATE 08P01 and never passed on, 53300 over the limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorResponse, GSSENC_REQUEST_CODE, SSL_REQUEST_CODE, startPostgresFront } from '../../../samples/bookinfo/src/postgres-front.js';

const HOST = '127.0.0.1';
const WAIT_MS = 10_000;

function negotiation(code: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(code, 4);
  return b;
}

function startup(): Buffer {
  const body = Buffer.from('user\0postgres\0database\0postgres\0\0', 'latin1');
  const b = Buffer.alloc(8);
  b.writeInt32BE(8 + body.length, 0);
  b.writeInt32BE(196608, 4);
  return Buffer.concat([b, body]);
}

function query(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('Q', 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

/** Reads from `socket` until `n` bytes arrived (or it closed); bounded by WAIT_MS. */
function read(socket: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${n} bytes within ${WAIT_MS} ms: ${got.toString('hex')}`)), WAIT_MS);
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(got);
    };
    const onData = (b: Buffer) => {
      got = Buffer.concat([got, b]);
      if (got.length >= n) done();
    };
    socket.on('data', onData);
    socket.once('close', done);
  });
}

async function withFront(maxConnections: number, run: (port: number, received: () => Buffer[]) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-front-'));
  const backendPath = join(dir, 'backend.sock');
  const streams: Buffer[] = [];
  const held = new Set<Socket>();
  const backend: Server = createServer((s) => {
    held.add(s);
    const i = streams.push(Buffer.alloc(0)) - 1;
    s.on('data', (b: Buffer) => (streams[i] = Buffer.concat([streams[i]!, b])));
    s.on('close', () => held.delete(s));
  });
  await new Promise<void>((r) => backend.listen(backendPath, r));
  const front = await startPostgresFront({ host: HOST, port: 0, backendPath, maxConnections });
  try {
    await run((front.address() as { port: number }).port, () => streams);
  } finally {
    for (const s of held) s.destroy();
    await new Promise<void>((r) => front.close(() => r()));
    await new Promise<void>((r) => backend.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${WAIT_MS} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('GSSENCRequest and SSLRequest get N; startup and queries reach the backend byte for byte', async () => {
  await withFront(4, async (port, received) => {
    const c = connect(port, HOST);
    c.write(negotiation(GSSENC_REQUEST_CODE));
    assert.equal((await read(c, 1)).toString('latin1'), 'N');
    c.write(negotiation(SSL_REQUEST_CODE));
    assert.equal((await read(c, 1)).toString('latin1'), 'N');
    const expected = Buffer.concat([startup(), query('select 1')]);
    // Split across writes at an awkward place: the framing follows message boundaries over chunks.
    c.write(expected.subarray(0, 3));
    await new Promise((r) => setTimeout(r, 20));
    c.write(expected.subarray(3));
    await until(() => received()[0]?.length === expected.length, 'startup + query at the backend');
    assert.deepEqual(received()[0], expected);
    c.destroy();
  });
});

test('a message type no client sends is answered with 08P01 and never reaches the backend', async () => {
  await withFront(4, async (port, received) => {
    const c = connect(port, HOST);
    // A stray RowDescription header ('T', length 58): what a client never sends.
    const stray = Buffer.from('540000003a', 'hex');
    c.write(startup());
    await until(() => received()[0]?.length === startup().length, 'the startup packet at the backend');
    c.write(stray);
    const reply = await read(c, 1_000);
    assert.deepEqual(reply, errorResponse('08P01', 'invalid frontend message type 84'));
    assert.deepEqual(received()[0], startup());
  });
});

test('a client over the connection limit gets SQLSTATE 53300 and no backend connection', async () => {
  await withFront(1, async (port, received) => {
    const first = connect(port, HOST);
    first.write(startup());
    await until(() => received().length === 1, 'the first client at the backend');
    const second = connect(port, HOST);
    second.write(startup());
    assert.deepEqual(await read(second, 1_000), errorResponse('53300', 'sorry, too many clients already'));
    assert.equal(received().length, 1);
    first.destroy();
  });
});
