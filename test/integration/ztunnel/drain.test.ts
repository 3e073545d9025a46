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

/** New connections per worker are opened back to back; two workers make a steady stream through the drain. */
const WORKERS = 2;

function logTime(output: string, pattern: RegExp): number | undefined {
  const line = output.split('\n').find((l) => pattern.test(l));
  return line ? Date.parse(line.split('\t')[0]!.replace(/(\.\d{3})\d*Z$/, '$1Z')) : undefined;
}

test('SIGTERM with endpoints on two nodes: unready at once, peers stop choosing it within 1 s, no new connection fails, open ones drain', { timeout: 120_000 }, async () => {
  const mesh = await startMesh({ nodes: 2 });
  try {
    const echo = await deployEcho(mesh, {
      endpoints: [
        { name: 'echo-a', node: 1, ip: mesh.podIp(92) },
        { name: 'echo-b', node: 2, ip: mesh.podIp(93) },
      ],
      client: { name: 'client', node: 1, ip: mesh.podIp(94) },
    });
    const { address, port } = echo.listen;
    // A long-lived connection that goes through node-2 (round robin alternates: at most two tries).
    let held: { socket: ReturnType<typeof connect>; received: () => string } | undefined;
    for (let i = 0; i < 4 && !held; i++) {
      const socket = connect({ host: address, port });
      socket.on('error', () => {});
      let received = '';
      socket.on('data', (c) => (received += c.toString()));
      await eventually(() => received.includes('\n'), 10_000, 'the greeting');
      if (received.startsWith('echo-b')) held = { socket, received: () => received };
      else socket.destroy();
    }
    assert.ok(held, 'a connection to echo-b');
    // Cut: the proxy ends or resets it (either way the client sees its end).
    const heldClosed = new Promise<number>((r) => {
      held!.socket.once('end', () => r(Date.now()));
      held!.socket.once('close', () => r(Date.now()));
    });

    let attempted = 0;
    let succeeded = 0;
    const failures: string[] = [];
    let running = true;
    const worker = async (): Promise<void> => {
      for (let i = 0; running && i < 100_000; i++) {
        attempted++;
        const n = attempted;
        try {
          const reply = (await roundTrip(address, port, `c${n}`)).toString();
          if (/^echo-[ab]\n/.test(reply) && reply.endsWith(`c${n}`)) succeeded++;
          else failures.push(`#${n}: ${JSON.stringify(reply)}`);
        } catch (err) {
          failures.push(`#${n}: ${(err as Error).message}`);
        }
      }
    };
    const workers = Array.from({ length: WORKERS }, worker);
    await eventually(() => attempted >= 10, 10_000, 'the stream of connections to start');

    const node2 = mesh.nodes[1]!;
    const exited = new Promise<number | null>((resolve) => node2.proc.proc.once('exit', (code) => resolve(code)));
    const termAt = Date.now();
    node2.proc.proc.kill('SIGTERM');
    await node2.proc.waitFor(/draining/);
    const readiness = await fetch(`http://127.${mesh.base}.0.2:15021/healthz/ready`);
    assert.equal(readiness.status, 503);
    assert.equal(await readiness.text(), 'not ready\n');

    // The held connection still carries bytes 1 s into the 2 s drain period.
    await new Promise((r) => setTimeout(r, 1_000 - (Date.now() - termAt)));
    held.socket.write('still-open');
    await eventually(() => held!.received().endsWith('still-open'), 5_000, 'the held connection to echo');
    assert.equal(await exited, 0);
    const cutAt = await heldClosed;
    assert.ok(cutAt - termAt >= 1_500, `the held connection was cut at the drain deadline, not before (after ${cutAt - termAt} ms)`);

    // The stream keeps going a while after node-2 is gone, then stops.
    const countAtExit = attempted;
    await eventually(() => attempted >= countAtExit + 10, 20_000, 'connections after node-2 exited');
    running = false;
    await Promise.all(workers);
    assert.deepEqual(failures, [], 'no new connection fails');
    assert.equal(succeeded, attempted);

    // node-1 ejected node-2 within 1 s of node-2 starting to drain (both clocks are this host's).
    const drainAt = logTime(node2.proc.output(), /\tdraining/);
    const ejectAt = logTime(mesh.nodes[0]!.proc.output(), new RegExp(`ejecting an upstream.*127\\.${mesh.base}\\.0\\.2:15008`));
    assert.ok(drainAt !== undefined && ejectAt !== undefined, 'both log lines present');
    assert.ok(ejectAt - drainAt >= 0 && ejectAt - drainAt < 1_000, `ejected ${ejectAt - drainAt} ms after the drain began`);
    await echo.close();
  } finally {
    await mesh.stop();
  }
});
