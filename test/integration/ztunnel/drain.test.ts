// SIGTERM drains: the proxy stops accepting, lets open connections finish within the drain duration,
// then exits 0; a connection still open at the deadline is cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startMesh } from '../../support/mesh.js';
import { deployEcho } from '../../support/echo-service.js';
import { roundTrip } from '../../support/workloads.js';

test('SIGTERM: open connections finish, new ones are refused, the proxy exits 0', { timeout: 90_000 }, async () => {
  const mesh = await startMesh({ nodes: 1 });
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
    await new Promise((r) => setTimeout(r, 200));

    const node = mesh.nodes[0]!;
    const exited = new Promise<number | null>((resolve) => node.proc.proc.once('exit', (code) => resolve(code)));
    node.proc.proc.kill('SIGTERM');
    await node.proc.waitFor(/draining/);
    // A connection racing the listener's close could be reset from the accept queue; give it a moment.
    await new Promise((r) => setTimeout(r, 300));
    // New connections: the outbound listener is closed.
    await assert.rejects(roundTrip(echo.listen.address, echo.listen.port, 'new'), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
    // The open one still carries data both ways, then closes cleanly.
    socket.end('after');
    await new Promise<void>((r) => socket.on('close', () => r()));
    assert.equal(received, 'echo-0\nbefore after');
    const startedWaiting = Date.now();
    assert.equal(await exited, 0);
    assert.ok(Date.now() - startedWaiting < 2_000, 'exited once the last connection closed, before the 2 s drain deadline');
    await echo.close();
  } finally {
    await mesh.stop();
  }
});
