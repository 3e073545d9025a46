// A real node proxy spreads the tunnels of one pool key over its spread count of HBONE connections, fills
// each up to the stream limit, and opens one more connection for the next tunnel. Both numbers are read
// from the pool's exported defaults (the node proxy has no flag for them); the connections are counted in
// the kernel's TCP table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION, DEFAULT_HBONE_SPREAD_CONNECTIONS } from '../../../src/dataplane/hbone/client-pool.js';
import { deployEcho } from '../../support/echo-service.js';
import { eventually, startMesh } from '../../support/mesh.js';
import { eachTransport, transportArgs } from '../../support/transports.js';

const LIMIT = DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION;
const SPREAD = DEFAULT_HBONE_SPREAD_CONNECTIONS;
const FULL = SPREAD * LIMIT;

/** ESTABLISHED TCP connections to `ip:port` in this network namespace (/proc/net/tcp, IPv4). */
async function establishedTo(ip: string, port: number): Promise<number> {
  const hex = ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase())
    .reverse()
    .join('');
  const remote = `${hex}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
  const rows = (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1);
  return rows.filter((r) => {
    const f = r.trim().split(/\s+/);
    return f[2] === remote && f[3] === '01';
  }).length;
}

/** A client connection through the mesh whose echo has come back: its tunnel is open end to end. */
function openTunnel(address: string, port: number, tag: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port, allowHalfOpen: true });
    let got = '';
    const timer = setTimeout(() => reject(new Error(`no echo for ${tag} within 30 s (got ${JSON.stringify(got)})`)), 30_000);
    socket.on('error', reject);
    socket.on('data', (c: Buffer) => {
      got += c.toString();
      if (got === `echo-0\n${tag}`) {
        clearTimeout(timer);
        resolve(socket);
      }
    });
    socket.on('connect', () => socket.write(tag));
  });
}

eachTransport(`a real node proxy spreads ${FULL} tunnels over ${SPREAD} HBONE connections and opens another for the next`, { timeout: 240_000 }, async (transport) => {
  const mesh = await startMesh({ nodes: 2, extraZtunnelArgs: transportArgs(transport) });
  const sockets: Socket[] = [];
  const echo = await deployEcho(mesh, {
    endpoints: [{ name: 'echo-0', node: 2, ip: mesh.podIp(80) }],
    client: { name: 'client', node: 1, ip: mesh.podIp(81) },
  });
  const node2 = `127.${mesh.base}.0.2`;
  try {
    assert.equal(await establishedTo(node2, 15008), 0);
    // SPREAD × LIMIT tunnels at once, all held open: SPREAD connections carry them all.
    sockets.push(...(await Promise.all(Array.from({ length: FULL }, (_, i) => openTunnel(echo.listen.address, echo.listen.port, `t${i}`)))));
    // Each connection appears twice in the table (node-1's end and node-2's), only node-1's has node-2 as remote.
    assert.equal(await establishedTo(node2, 15008), SPREAD, `${FULL} open tunnels on ${SPREAD} HBONE connections`);
    // One more: every connection is at the limit, so another connection.
    sockets.push(await openTunnel(echo.listen.address, echo.listen.port, `t${FULL}`));
    assert.equal(await establishedTo(node2, 15008), SPREAD + 1, `tunnel ${FULL + 1} on connection ${SPREAD + 1}`);
    // Every tunnel still carries its own bytes.
    const replies = await Promise.all(
      sockets.map(
        (s, i) =>
          new Promise<string>((resolve) => {
            let got = '';
            s.removeAllListeners('data');
            s.on('data', (c: Buffer) => (got += c.toString()));
            s.on('end', () => resolve(got));
            s.end(`:${i}`);
          }),
      ),
    );
    assert.deepEqual(replies, sockets.map((_, i) => `:${i}`));
    await eventually(async () => (await establishedTo(node2, 15008)) === SPREAD + 1, 5_000, 'every HBONE connection kept for reuse after the tunnels closed');
  } finally {
    for (const s of sockets) s.destroy();
    await echo.close();
    await mesh.stop();
  }
});
