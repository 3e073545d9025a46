// Local capture no longer ignores adoptAccepted(): a connection that cannot switch to pooled reads while
// they are on is reported once (with the reason), and its bytes still reach the handler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, Server, type Socket } from 'node:net';
import { AddressBlocks } from '../../../src/dataplane/capture/address-blocks.js';
import { LocalCapture } from '../../../src/dataplane/capture/local.js';
import { pooledReadsStatus } from '../../../src/dataplane/pooled-reads.js';
import { service, workload } from '../xds/mesh-fixture.js';

/** This test's own loopback /24, so its listener cannot meet another test's. */
const RANGE = '127.203.41.0/24';
const PORT = 19_080;

test('a connection that cannot be adopted is reported once and still read', async (t) => {
  // Simulates a Node whose accepted sockets lack `kBuffer`: the symbol is taken off before the capture sees them.
  const proto = Server.prototype as unknown as { emit: (event: string | symbol, ...args: unknown[]) => boolean };
  const emit = proto.emit;
  proto.emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'connection') {
      const socket = args[0] as Socket;
      for (const sym of Object.getOwnPropertySymbols(socket)) if (sym.description === 'kBuffer') delete (socket as unknown as Record<symbol, unknown>)[sym];
    }
    return emit.call(this, event, ...args);
  };
  t.after(() => {
    proto.emit = emit;
  });

  const reports: Array<{ message: string; fields: Record<string, unknown> }> = [];
  const capture = new LocalCapture(await AddressBlocks.open(RANGE), (message, fields) => reports.push({ message, fields }));
  const received: string[] = [];
  const done = new Promise<void>((resolve) =>
    capture.onConnection((conn) => {
      const parts: Buffer[] = [];
      conn.socket.on('data', (c: Buffer) => parts.push(c));
      conn.socket.on('end', () => {
        received.push(Buffer.concat(parts).toString());
        conn.socket.end();
        if (received.length === 2) resolve();
      });
    }),
  );
  const ratings = service('ratings', '127.2.0.9', { ports: [{ servicePort: PORT, targetPort: PORT }] });
  await capture.sync([workload('productpage', '127.1.0.9')], () => [ratings]);
  t.after(() => capture.sync([], () => []));

  for (const text of ['first', 'second']) {
    const client = connect({ host: '127.203.41.1', port: PORT });
    client.end(text);
    client.resume();
    await new Promise((resolve) => client.once('close', resolve));
  }
  await done;
  assert.deepEqual(received, ['first', 'second']);
  const reason = `Node ${process.version} sockets have no kBuffer symbol`;
  assert.deepEqual(pooledReadsStatus(), { active: false, selfTested: false, reason });
  assert.deepEqual(reports, [
    {
      message: 'outbound connections are read without pooled reads from now on (one new buffer per read)',
      fields: { listener: `127.203.41.1:${PORT}`, reason },
    },
  ]);
});
