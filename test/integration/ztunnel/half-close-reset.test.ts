// FIN and RST cross the mesh both ways: a half-closed client still receives, a reset on one end is a
// reset (not a clean end) on the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { eventually, startMesh } from '../../support/mesh.js';
import { deployEcho } from '../../support/echo-service.js';

test('half-close and reset propagate through two node proxies', { timeout: 120_000 }, async (t) => {
  const mesh = await startMesh({ nodes: 2 });
  const serverIp = mesh.podIp(50);
  // The server's behaviour is chosen by the first line the client sends.
  const serverEvents: string[] = [];
  /** What the server has read on each connection so far, in accept order. */
  const serverReads: string[] = [];
  const server = createServer({ allowHalfOpen: true }, (s: Socket) => {
    let buf = '';
    const at = serverReads.push('') - 1;
    s.on('error', (err: NodeJS.ErrnoException) => serverEvents.push(`error:${err.code}`));
    s.on('data', (c) => {
      buf += c.toString();
      serverReads[at] = buf;
      if (buf === 'reset-me\n') s.resetAndDestroy();
    });
    s.on('end', () => {
      serverEvents.push(`end:${buf}`);
      // The client half-closed; this side keeps talking, then closes.
      if (buf.startsWith('half')) s.end(`after-your-fin:${buf.length}`);
    });
  });
  await new Promise<void>((r) => server.listen(7000, serverIp, () => r()));
  const echo = await deployEcho(mesh, {
    endpoints: [{ name: 'half', node: 2, ip: serverIp, serve: false }],
    client: { name: 'client', node: 1, ip: mesh.podIp(51) },
  });
  const dial = () => connect({ host: echo.listen.address, port: echo.listen.port, allowHalfOpen: true });
  try {
    await t.test('client FIN reaches the server; the server still answers and its FIN comes back', async () => {
      const socket = dial();
      const got = await new Promise<string>((resolve, reject) => {
        let data = '';
        socket.on('data', (c) => (data += c.toString()));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
        socket.on('connect', () => socket.end('half-close please'));
      });
      assert.equal(got, 'after-your-fin:17');
      assert.deepEqual(serverEvents, ['end:half-close please']);
    });

    await t.test('a server reset arrives as ECONNRESET at the client', async () => {
      const socket = dial();
      const outcome = await new Promise<string>((resolve) => {
        socket.on('error', (err: NodeJS.ErrnoException) => resolve(`error:${err.code}`));
        socket.on('end', () => resolve('clean end'));
        socket.on('connect', () => socket.write('reset-me\n'));
      });
      assert.equal(outcome, 'error:ECONNRESET');
    });

    await t.test('a client reset arrives as ECONNRESET at the server', async () => {
      const before = serverEvents.length;
      const socket = dial();
      await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
      socket.write('about to reset');
      // The reset must find the tunnel whole: wait until the bytes reached the server.
      await eventually(() => serverReads.at(-1) === 'about to reset', 10_000, 'the bytes at the server');
      socket.resetAndDestroy();
      await eventually(() => serverEvents.length > before, 10_000, 'the reset at the server');
      assert.deepEqual(serverEvents.slice(before), ['error:ECONNRESET']);
    });
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    await mesh.stop();
  }
});
