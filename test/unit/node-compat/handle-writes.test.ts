// Writes straight to a socket's native handle (node-compat's writeToHandle) and the SocketWriter built on
// it, proven on the running Node: exact bytes on plain and TLS sockets, the 'sent' / 'pending' outcomes, the
// cases where it must leave the write to the socket's Writable, a failed write, and a TLS socket written in
// many batches while earlier ones are still pending (its handle takes one write at a time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { PassThrough } from 'node:stream';
import { handleWritesProblem, writeToHandle } from '../../../src/dataplane/node-compat.js';
import { SocketWriter } from '../../../src/dataplane/socket-writer.js';
import { createTestCa } from '../../support/test-pki.js';

/** Different bytes at every offset of a long run, so a reordered or dropped piece cannot look right. */
function pattern(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + seed + (i >> 8)) % 251;
  return out;
}

async function listening(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** Everything the server side of one connection receives until the peer's FIN. */
function received(socket: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  socket.on('data', (b: Buffer) => parts.push(b));
  return once(socket, 'end').then(() => Buffer.concat(parts));
}

/** A connected pair on loopback; `close` destroys both ends and the listener (half-open sockets would keep the test process alive). */
async function tcpPair(): Promise<{ client: Socket; accepted: Socket; close: () => void }> {
  const server = createServer({ allowHalfOpen: true });
  const port = await listening(server);
  const acceptedP = once(server, 'connection');
  const client = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await once(client, 'connect');
  const [accepted] = (await acceptedP) as [Socket];
  const close = (): void => {
    client.destroy();
    accepted.destroy();
    server.close();
  };
  return { client, accepted, close };
}

test('this Node allows handle writes', () => {
  assert.equal(handleWritesProblem(), undefined);
});

test('a plain socket: a small write is sent before writeToHandle returns, a writev keeps the order', async () => {
  const { client, accepted, close } = await tcpPair();
  const got = received(accepted);
  const calls: Array<Error | null> = [];
  assert.equal(writeToHandle(client, [Buffer.from('hello ')], (err) => calls.push(err)), 'sent');
  assert.deepEqual([...calls], [null]);
  assert.equal(writeToHandle(client, [Buffer.from('over '), Buffer.from('the '), Buffer.from('handle')], (err) => calls.push(err)), 'sent');
  assert.deepEqual(calls, [null, null]);
  client.end();
  assert.equal((await got).toString(), 'hello over the handle');
  close();
});

test('a plain socket: a write larger than the kernel takes is pending until the reader reads, then done runs once', async () => {
  const { client, accepted, close } = await tcpPair();
  accepted.pause();
  const payload = pattern(16 * 1024 * 1024, 3);
  const calls: Array<Error | null> = [];
  const done = new Promise<void>((resolve) => {
    assert.equal(
      writeToHandle(client, [payload], (err) => {
        calls.push(err);
        resolve();
      }),
      'pending',
    );
  });
  assert.deepEqual(calls, []);
  const got = received(accepted);
  accepted.resume();
  await done;
  assert.deepEqual(calls, [null]);
  client.end();
  const bytes = await got;
  assert.equal(bytes.length, payload.length);
  assert.ok(bytes.equals(payload));
  close();
});

test('writeToHandle leaves the write to the Writable when it holds something, for a gone socket, and for a duplex without a handle', async () => {
  const { client, accepted, close } = await tcpPair();
  const got = received(accepted);
  client.cork();
  client.write('corked ');
  assert.equal(writeToHandle(client, [Buffer.from('never')], () => assert.fail('done must not run')), undefined);
  client.uncork();
  client.end('then ended');
  assert.equal(writeToHandle(client, [Buffer.from('never')], () => assert.fail('done must not run')), undefined);
  assert.equal((await got).toString(), 'corked then ended');
  client.destroy();
  assert.equal(writeToHandle(client, [Buffer.from('never')], () => assert.fail('done must not run')), undefined);
  assert.equal(writeToHandle(new PassThrough(), [Buffer.from('never')], () => assert.fail('done must not run')), undefined);
  close();
});

test('a write to a connection the peer reset fails with ECONNRESET and destroys the socket', async () => {
  const { client, accepted, close } = await tcpPair();
  client.on('error', () => undefined);
  // The RST reaches the client's kernel socket at once (loopback); the write comes before Node polls for it.
  accepted.resetAndDestroy();
  const calls: Array<string | undefined> = [];
  const outcome = writeToHandle(client, [Buffer.from('too late')], (err) => calls.push((err as NodeJS.ErrnoException | null)?.code));
  assert.equal(outcome, 'sent');
  assert.deepEqual(calls, ['ECONNRESET']);
  assert.equal(client.destroyed, true);
  close();
});

test('a TLS socket: 300 batches, most of them added while the one before is pending, arrive whole and in order, then the end', async () => {
  const ca = await createTestCa();
  const id = await ca.issue('spiffe://cluster.local/ns/default/sa/writer');
  const server = createTlsServer({ key: id.keyPem, cert: id.chainPem.join(''), allowHalfOpen: true });
  const port = await listening(server);
  const acceptedP = once(server, 'secureConnection');
  const client = tlsConnect({ host: '127.0.0.1', port, ca: id.rootPem, checkServerIdentity: () => undefined });
  await once(client, 'secureConnect');
  const [accepted] = (await acceptedP) as [TLSSocket];
  const got = received(accepted);

  // A TLS handle always finishes a write later: the outcome is 'pending' even for one byte.
  const first = await new Promise<string | undefined>((resolve) => {
    let outcome: string | undefined;
    outcome = writeToHandle(client, [Buffer.from('<')], () => resolve(outcome));
  });
  assert.equal(first, 'pending');

  const writer = new SocketWriter(client);
  const expected: Buffer[] = [Buffer.from('<')];
  let doneCalls = 0;
  for (let batch = 0; batch < 300; batch++) {
    const pieces = 1 + (batch % 4);
    for (let i = 0; i < pieces; i++) {
      const piece = pattern(1 + ((batch * 997 + i * 131) % 70_000), batch + i);
      expected.push(piece);
      writer.add(piece, (err) => {
        assert.equal(err, null);
        doneCalls++;
      });
    }
    writer.flush();
    if (batch % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  writer.end();
  const bytes = await got;
  const want = Buffer.concat(expected);
  assert.equal(bytes.length, want.length);
  assert.ok(bytes.equals(want));
  assert.equal(doneCalls, expected.length - 1);
  accepted.end();
  await once(client, 'close');
  server.close();
});

test('a SocketWriter on a socket whose reader stalls: flush() says backed up, onIdle runs once the reader reads, every byte in order, then the end', async () => {
  const { client, accepted, close } = await tcpPair();
  accepted.pause();
  let idle = 0;
  const writer = new SocketWriter(client, () => idle++);
  const expected: Buffer[] = [];
  const doneErrors: Array<Error | null | undefined> = [];
  // 1 MiB batches until the kernel stops taking them (a few MiB on loopback); bounded at 64 MiB.
  let backedUp = false;
  for (let batch = 0; batch < 64 && !backedUp; batch++) {
    const piece = pattern(1024 * 1024, batch);
    expected.push(piece);
    writer.add(piece, (err) => doneErrors.push(err));
    backedUp = !writer.flush();
  }
  assert.equal(backedUp, true, 'the kernel took 64 MiB without the reader reading');
  assert.equal(idle, 0);
  // Added while backed up: queued behind the pending write, flush() still says backed up.
  const tail = Buffer.from('tail');
  expected.push(tail);
  writer.add(tail, (err) => doneErrors.push(err));
  assert.equal(writer.flush(), false);
  writer.end();
  const got = received(accepted);
  accepted.resume();
  const bytes = await got;
  const want = Buffer.concat(expected);
  assert.equal(bytes.length, want.length);
  assert.ok(bytes.equals(want));
  assert.deepEqual(doneErrors, expected.map(() => null));
  assert.ok(idle >= 1, 'onIdle ran after the pending write');
  close();
});

test('a SocketWriter on a duplex without a handle: one corked batch through its Writable, false above its high-water mark, every callback once', async () => {
  const sink = new PassThrough({ highWaterMark: 8 });
  const writer = new SocketWriter(sink, () => assert.fail('onIdle is for pending handle writes'));
  const calls: Array<Error | null | undefined> = [];
  writer.add(Buffer.from('ab'), (err) => calls.push(err));
  writer.add(Buffer.from('cd'), (err) => calls.push(err));
  assert.equal(writer.flush(), true);
  writer.add(Buffer.from('0123456789'), (err) => calls.push(err));
  assert.equal(writer.flush(), false, 'the Writable is above its high-water mark');
  writer.end();
  const chunks: Buffer[] = [];
  for await (const chunk of sink) chunks.push(chunk as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), 'abcd0123456789');
  assert.deepEqual(calls, [null, null, null]);
});
