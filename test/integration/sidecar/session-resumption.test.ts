// SidecarDialer resumes TLS sessions with a sidecar it has talked to (no certificate chains, no
// signatures), and a ticket presented to another server at the same address buys nothing: that server
// does a full handshake and the destination identity is checked as on a first connection.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { MeshWorkload } from '../../../src/api/mesh.js';
import type { PeerMetadata } from '../../../src/dataplane/mx/codec.js';
import { exchangeMetadata, MX_ALPN } from '../../../src/dataplane/mx/handshake.js';
import { createMxStats } from '../../../src/dataplane/mx/stats.js';
import { L4meshError } from '../../../src/errors/index.js';
import { SidecarDialer } from '../../../src/sidecar/legacy-mtls-client.js';
import { createTestCa, type TestIdentity } from '../../support/test-pki.js';

const RATINGS = 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings';
const REVIEWS = 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews';
const DETAILS = 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-details';
const meta = (name: string, identity: string): PeerMetadata => ({ name, namespace: 'bookinfo', workloadName: name, clusterId: 'Kubernetes', identity, labels: { app: name } });

let ratings: TestIdentity;
let reviews: TestIdentity;
let details: TestIdentity;
before(async () => {
  const ca = await createTestCa();
  [ratings, reviews, details] = await Promise.all([ca.issue(RATINGS), ca.issue(REVIEWS), ca.issue(DETAILS)]);
});

/** A sidecar's :15006 as `who`: mutual TLS, ALPN istio-peer-exchange, the exchange, then close. */
async function sidecarServer(who: TestIdentity, name: string, port = 0): Promise<{ server: Server; port: number; resumed: boolean[] }> {
  const resumed: boolean[] = [];
  const server = createServer(
    { key: who.keyPem, cert: who.chainPem.join(''), ca: who.rootPem, requestCert: true, rejectUnauthorized: true, ALPNProtocols: [...MX_ALPN], minVersion: 'TLSv1.3' },
    (socket: TLSSocket) => {
      resumed.push(socket.isSessionReused());
      socket.on('error', () => {});
      void exchangeMetadata(socket, { metadata: meta(name, who.spiffeId), nodeId: `sidecar~${name}` }, { stats: createMxStats() }).then(
        () => socket.end(),
        () => socket.destroy(),
      );
    },
  );
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, resumed };
}

function dialer(): SidecarDialer {
  return new SidecarDialer({
    tlsFor: (id) => (id === REVIEWS ? reviews : undefined),
    metadataFor: () => meta('reviews-v2', REVIEWS),
    nodeId: 'sidecar~reviews-v2',
    stats: createMxStats(),
  });
}

const request = (port: number, destinationIdentity: string) => ({
  source: {} as MeshWorkload,
  sourceIdentity: REVIEWS,
  destinationIdentity,
  host: '127.0.0.1',
  port,
  hostname: 'ratings.bookinfo.svc.cluster.local',
  servicePort: 9080,
});

test('the second connection to a sidecar resumes the first one\'s session; both exchange metadata', async () => {
  const s = await sidecarServer(ratings, 'ratings-v1');
  try {
    const d = dialer();
    const reused: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const { socket, exchange } = await d.dial(request(s.port, RATINGS));
      assert.equal(exchange.peer?.name, 'ratings-v1');
      assert.equal(exchange.peer?.identity, RATINGS);
      reused.push(socket.isSessionReused());
      socket.end();
      socket.resume();
      await once(socket, 'close');
    }
    assert.deepEqual(reused, [false, true, true]);
    assert.deepEqual(s.resumed, [false, true, true]);
  } finally {
    s.server.close();
  }
});

test('a cached ticket sent to another server at the same address gets a full handshake and the identity check', async () => {
  const first = await sidecarServer(ratings, 'ratings-v1');
  const d = dialer();
  const { socket } = await d.dial(request(first.port, RATINGS));
  socket.end();
  socket.resume();
  await once(socket, 'close');
  first.server.close();
  await once(first.server, 'close');
  // Same address, another workload (and so other ticket keys): the client offers its ticket for RATINGS.
  const impostor = await sidecarServer(details, 'details-v1', first.port);
  try {
    await assert.rejects(d.dial(request(first.port, RATINGS)), (err: unknown) => err instanceof L4meshError && err.code === 'L4MESH_ERR_IDENTITY_MISMATCH' && /presented identity spiffe:\/\/cluster\.local\/ns\/bookinfo\/sa\/bookinfo-details, expected spiffe:\/\/cluster\.local\/ns\/bookinfo\/sa\/bookinfo-ratings/.test(err.message));
    assert.deepEqual(impostor.resumed, [], 'the impostor never completed a handshake with us');
  } finally {
    impostor.server.close();
  }
});
