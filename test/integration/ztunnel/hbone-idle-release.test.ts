// A real node proxy keeps an unused pooled HBONE connection for --pool-idle-timeout, then closes it; the
// next tunnel dials a new one. A connection carrying an open tunnel is never released, however long.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { deployEcho } from '../../support/echo-service.js';
import { eventually, startMesh } from '../../support/mesh.js';
import { roundTrip } from '../../support/workloads.js';
import { eachTransport, transportArgs } from '../../support/transports.js';

const IDLE_MS = 2_000;

/** Local ports of the ESTABLISHED TCP connections to `ip:port` in this network namespace (/proc/net/tcp). */
async function connectionsTo(ip: string, port: number): Promise<number[]> {
  const hex = ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase())
    .reverse()
    .join('');
  const remote = `${hex}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
  const rows = (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1).map((r) => r.trim().split(/\s+/));
  return rows.filter((f) => f[2] === remote && f[3] === '01').map((f) => parseInt(f[1]!.split(':')[1]!, 16));
}

eachTransport('--pool-idle-timeout: an unused HBONE connection is released after the timeout, a busy one never', { timeout: 180_000 }, async (transport) => {
  const mesh = await startMesh({ nodes: 2, extraZtunnelArgs: [...transportArgs(transport), '--pool-idle-timeout', `${IDLE_MS / 1000}s`] });
  let held: Socket | undefined;
  const echo = await deployEcho(mesh, {
    endpoints: [{ name: 'echo-0', node: 2, ip: mesh.podIp(85) }],
    client: { name: 'client', node: 1, ip: mesh.podIp(86) },
  });
  const node2 = `127.${mesh.base}.0.2`;
  try {
    // A tunnel held open for three idle timeouts keeps its connection.
    held = connect({ host: echo.listen.address, port: echo.listen.port, allowHalfOpen: true });
    let got = '';
    held.on('data', (c: Buffer) => (got += c.toString()));
    held.write('a');
    await eventually(() => got === 'echo-0\na', 15_000, 'the first echo');
    const [first] = await connectionsTo(node2, 15008);
    assert.ok(first !== undefined, 'one HBONE connection from node-1');
    // Nothing is expected to happen here, so this is a bounded wait, not a condition.
    await new Promise((r) => setTimeout(r, 3 * IDLE_MS));
    assert.deepEqual(await connectionsTo(node2, 15008), [first], 'a busy connection is kept past the idle timeout');
    held.write('b');
    await eventually(() => got === 'echo-0\nab', 15_000, 'the echo after three idle timeouts');
    held.end();
    await new Promise<void>((r) => held!.once('close', () => r()));

    // Unused now: released once the idle timeout has passed (a loaded box may take longer).
    await eventually(async () => (await connectionsTo(node2, 15008)).length === 0, 30_000, 'the idle HBONE connection closed');
    // The next tunnel dials a new connection.
    assert.equal((await roundTrip(echo.listen.address, echo.listen.port, 'again')).toString(), 'echo-0\nagain');
    const after = await connectionsTo(node2, 15008);
    assert.equal(after.length, 1);
    assert.notEqual(after[0], first, 'a new connection (another source port)');
  } finally {
    held?.destroy();
    await echo.close();
    await mesh.stop();
  }
});
