// The mesh's node:http2 HboneClientPool against our server with the HBONE listener's mutual-TLS
// options (SNI → identity, client certificate required): tunnels echo byte-exact through a splice to a
// TCP workload, the peer's SPIFFE id is seen, the server reads its TLS sockets into pooled slabs, and the
// pool spreads past our MAX_CONCURRENT_STREAMS.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { HboneClientPool } from '../../../src/dataplane/hbone/client-pool.js';
import { H2SecureServer } from '../../../src/dataplane/hbone/h2/server.js';
import type { H2Stream } from '../../../src/dataplane/hbone/h2/stream.js';
import { newConnectionStats } from '../../../src/dataplane/connection-stats.js';
import { splice } from '../../../src/dataplane/splice.js';
import { readsIntoUserBuffer } from '../../../src/dataplane/node-compat.js';
import { peerSpiffeId } from '../../../src/dataplane/tls/peer-identity.js';
import { LocalIdentityTable } from '../../../src/dataplane/tls/local-identities.js';
import { createTestCa } from '../../support/test-pki.js';
import { PAYLOAD, echo, sha256 } from './fixture.js';

const SRC_ID = 'spiffe://cluster.local/ns/default/sa/productpage';
const DST_ID = 'spiffe://cluster.local/ns/default/sa/ratings';
const MiB = 1024 * 1024;

test('HboneClientPool → our server (mTLS, SNI) → splice → echo workload: 12 tunnels byte-exact over 2 connections', async () => {
  const ca = await createTestCa();
  const src = await ca.issue(SRC_ID);
  const table = new LocalIdentityTable();
  table.set(DST_ID, await ca.issue(DST_ID));
  const workload = createServer({ allowHalfOpen: true }, (s) => s.pipe(s).on('error', () => {}));
  workload.listen(0, '127.0.0.1');
  await once(workload, 'listening');
  const workloadPort = (workload.address() as AddressInfo).port;

  const server = new H2SecureServer(
    {
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: true,
      SNICallback: (name, cb) => {
        const context = table.secureContextFor(name);
        if (context instanceof Promise) return void context.then((c) => cb(null, c), cb);
        cb(context ? null : new Error(`no identity for ${name}`), context);
      },
    },
    { maxConcurrentStreams: 6 },
  );
  const peers: string[] = [];
  // Each session reads its TLS socket into pooled slabs (DATA reaches splice as views of them), not 'data'.
  const pooled: boolean[] = [];
  server.on('session', (_session: unknown, socket: TLSSocket) => {
    peers.push(peerSpiffeId(socket) ?? 'none');
    pooled.push(readsIntoUserBuffer(socket));
  });
  server.on('stream', (stream: H2Stream, headers: Record<string, string | number>) => {
    const [host, port] = String(headers[':authority']).split(':');
    const upstream: Socket = connect(Number(port), host, () => {
      stream.respond({ ':status': 200 });
      void splice(stream, upstream, newConnectionStats());
    });
    upstream.on('error', () => stream.respond({ ':status': 503 }, { endStream: true }));
  });
  await server.listen(0, '127.0.0.1');
  // No spreading: what splits the 12 tunnels over 2 connections is our server's stream limit of 6.
  const pool = new HboneClientPool({ tlsFor: (id) => (id === SRC_ID ? src : undefined), spreadConnections: 1 });
  try {
    const results = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
      const stream = await pool.connect({
        srcIdentity: SRC_ID, dstIdentity: DST_ID, dstNode: 'node-b',
        proxyAddress: { host: '127.0.0.1', port: server.address().port },
        authority: `127.0.0.1:${workloadPort}`, headers: {},
      });
      return echo(stream, PAYLOAD.subarray(i, i + MiB));
    }));
    results.forEach((r, i) => assert.deepEqual(r, { hash: sha256(PAYLOAD.subarray(i, i + MiB)), bytes: MiB }));
    assert.deepEqual(peers, [SRC_ID, SRC_ID]);
    assert.deepEqual(pooled, [true, true]);
  } finally {
    await pool.close();
    server.destroyAll();
    await server.close();
    workload.close();
  }
});
