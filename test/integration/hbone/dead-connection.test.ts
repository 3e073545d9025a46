// A pooled HBONE connection whose path goes silent (a relay that stops forwarding, as a lost NAT entry or a
// frozen peer would) is found by PING: new streams go to a new connection within seconds, and the dead
// connection's tunnels are cut on both sides instead of hanging forever (issue 13 item 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { DEFAULT_HBONE_CONNECT_TIMEOUT_MS, HBONE_PING_ON_USE_MS } from '../../../src/dataplane/hbone/client-pool.js';
import { HBONE_PING_INTERVAL_MS, HBONE_PING_TIMEOUT_MS } from '../../../src/dataplane/hbone/settings.js';
import { eventually } from '../../support/mesh.js';
import { meshFixture, DST_ID, SRC_ID, type MeshFixture } from './mesh-fixture.js';
import { eachTransport } from '../../support/transports.js';

/** A TCP relay in front of the HBONE server; `blackHole()` makes the connections it carries now go silent. */
async function startRelay(target: number): Promise<{ port: number; blackHole(): void; close(): Promise<void> }> {
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: target });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.once('close', drop);
    upstream.once('close', drop);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    blackHole() {
      // Bytes still arrive at the relay's sockets, but nothing is passed on either way and nothing is closed.
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      pairs.clear();
    },
    async close() {
      server.close();
      for (const [a, b] of pairs) (a.destroy(), b.destroy());
    },
  };
}

function connectVia(f: MeshFixture, port: number) {
  return f.pool.connect({
    srcIdentity: SRC_ID,
    dstIdentity: DST_ID,
    dstNode: 'node-b',
    proxyAddress: { host: '127.0.0.1', port },
    authority: `127.0.0.1:${f.echoPort}`,
    headers: {},
  });
}

async function echo(stream: import('../../../src/dataplane/hbone/transport.js').HboneStream, text: string): Promise<string> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.end(text);
  await once(stream, 'end');
  return Buffer.concat(chunks).toString();
}

eachTransport('a silent pooled connection is detected by PING, replaced for new streams, and cut', { timeout: 120_000 }, async (transport) => {
  const f = await meshFixture({ transport });
  const relay = await startRelay(f.proxyAddress.port);
  try {
    assert.equal(await echo(await connectVia(f, relay.port), 'before'), 'before');
    const opened = Date.now();
    // A tunnel that stays open on the connection that is about to go silent.
    const stuck = await connectVia(f, relay.port);
    let stuckError: (Error & { code?: string }) | undefined;
    stuck.on('error', (err) => (stuckError = err));
    stuck.write('hello');
    await once(stuck, 'data');
    const stuckClosed = new Promise((resolve) => stuck.once('close', resolve));
    assert.equal(f.server.openStreamCount, 1);

    // A connection in use for a while (as pooled connections are): the next CONNECT on it also checks it with a PING.
    await eventually(() => Date.now() - opened >= HBONE_PING_ON_USE_MS + 100, 5_000, 'the connection to age');
    relay.blackHole();
    const started = Date.now();
    // The first CONNECT after the silence: it may be sent on the silent connection, but its PING goes
    // unanswered and the CONNECT is retried on a new connection, well before the connect timeout.
    const replacement = await connectVia(f, relay.port);
    const switchedMs = Date.now() - started;
    assert.equal(await echo(replacement, 'after'), 'after');
    assert.equal(f.counts.sessionsOpened, 2);
    // Its PING went out with it and was overdue after HBONE_PING_OVERDUE_MS: far below the connect timeout.
    assert.ok(switchedMs < DEFAULT_HBONE_CONNECT_TIMEOUT_MS, `new stream served after ${switchedMs} ms`);

    // The silent connection is destroyed by the pool at the PING timeout: the stuck tunnel ends...
    await Promise.race([
      stuckClosed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the stuck tunnel was never closed')), HBONE_PING_INTERVAL_MS + HBONE_PING_TIMEOUT_MS + 10_000)),
    ]);
    const cutMs = Date.now() - started;
    assert.equal(stuckError?.code, 'L4MESH_ERR_CONNECT_TIMEOUT');
    // ...and by the server at its own PING timeout, which releases the upstream socket.
    await eventually(() => f.server.openStreamCount === 0, HBONE_PING_INTERVAL_MS + HBONE_PING_TIMEOUT_MS + 10_000, 'the server to cut the silent connection');
    assert.deepEqual(f.pool.stats(), [{ srcIdentity: SRC_ID, dstIdentity: DST_ID, dstNode: 'node-b', sessions: 1, openStreams: 0 }]);
    process.stdout.write(`# new stream on a new connection after ${switchedMs} ms; silent connection cut after ${cutMs} ms\n`);
  } finally {
    await relay.close();
    await f.close();
  }
});
