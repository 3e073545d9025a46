// SIGTERM drains: the proxy stops accepting, lets open connections finish within the drain duration,
// then exits 0; a connection still open at the deadline is cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { eventually, startMesh } from '../../support/mesh.js';
import { deployEcho } from '../../support/echo-service.js';
import { roundTrip } from '../../support/workloads.js';

/** Long, so that an exit on the last close and an exit at the deadline cannot be mistaken for each other. */
const DRAIN_MS = 60_000;

test('SIGTERM: open connections finish, new ones are refused, the proxy exits 0', { timeout: 150_000 }, async () => {
  const mesh = await startMesh({ nodes: 1, extraZtunnelArgs: ['--drain-duration', `${DRAIN_MS / 1000}s`] });
  try {
    const echo = await deployEcho(mesh, {
      endpoints: [{ name: 'echo-0', node: 1, ip: mesh.podIp(90) }],
      client: { name: 'client', node: 1, ip: mesh.podIp(91) },
    });
    const socket = connect({ host: echo.listen.address, port: echo.listen.port, allowHalfOpen: true });
    let received = '';
    socket.on('data', (c) => (received += c.toString()));
    await new Promise<void>((r) => socket.on('connect', () => r()));
    socket.write('before ');
    await eventually(() => received === 'echo-0\nbefore ', 10_000, 'the echo of the first bytes');

    const node = mesh.nodes[0]!;
    const exited = new Promise<number | null>((resolve) => node.proc.proc.once('exit', (code) => resolve(code)));
    node.proc.proc.kill('SIGTERM');
    await node.proc.waitFor(/draining/);
    // "draining" is logged as the listener starts closing; a connection racing the close may still be
    // accepted or reset from the accept queue, so wait until one is refused, then check a fresh one.
    const refused = (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED';
    await eventually(() => roundTrip(echo.listen.address, echo.listen.port, 'new').then(() => false, refused), 20_000, 'the outbound listener closed');
    // New connections: the outbound listener is closed.
    await assert.rejects(roundTrip(echo.listen.address, echo.listen.port, 'new'), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
    // The open one still carries data both ways, then closes cleanly.
    socket.end('after');
    await new Promise<void>((r) => socket.on('close', () => r()));
    assert.equal(received, 'echo-0\nbefore after');
    const startedWaiting = Date.now();
    assert.equal(await exited, 0);
    const waited = Date.now() - startedWaiting;
    assert.ok(waited < DRAIN_MS / 2, `exited ${waited} ms after the last connection closed, not at the ${DRAIN_MS} ms drain deadline`);
    await echo.close();
  } finally {
    await mesh.stop();
  }
});
