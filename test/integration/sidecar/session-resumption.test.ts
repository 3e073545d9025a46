// SidecarDialer resumes TLS sessions with a real `l4mesh sidecar` it has talked to (no certificate chains,
// no signatures), and a ticket presented to another sidecar process at the same address buys nothing:
// that one does a full handshake and the destination identity is checked as on a first connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:tls';
import type { MeshWorkload } from '../../../src/api/mesh.js';
import { MX_HEADER_BYTES, type PeerMetadata } from '../../../src/dataplane/mx/codec.js';
import { MX_ALPN_WIRE } from '../../../src/dataplane/mx/handshake.js';
import { sidecarServerName } from '../../../src/dataplane/tls/sidecar-server-name.js';
import { createMxStats } from '../../../src/dataplane/mx/stats.js';
import { L4meshError } from '../../../src/errors/index.js';
import { SidecarDialer, type SidecarDialRequest } from '../../../src/dataplane/mx/legacy-mtls-client.js';
import type { WorkloadCertificate } from '../../../src/identity/workload-certificate.js';
import { startMesh } from '../../support/mesh.js';
import { startNamedEcho } from '../../support/workloads.js';
import { ECHO_PORT, meshCertificate, pod, service, SIDECAR_LABEL, startSidecar } from './sidecar-mesh.js';

const RATINGS = 'spiffe://cluster.local/ns/default/sa/ratings';
const REVIEWS = 'spiffe://cluster.local/ns/default/sa/reviews';
const DETAILS = 'spiffe://cluster.local/ns/default/sa/details';
const REVIEWS_META: PeerMetadata = { name: 'reviews-v2-abcde', namespace: 'default', workloadName: 'reviews-v2', clusterId: 'Kubernetes', identity: REVIEWS, labels: { app: 'reviews' } };

function dialer(certificate: WorkloadCertificate): SidecarDialer {
  return new SidecarDialer({
    tlsFor: (id) => (id === REVIEWS ? certificate : undefined),
    metadataFor: () => REVIEWS_META,
    nodeId: 'sidecar~reviews-v2',
    stats: createMxStats(),
  });
}

const request = (host: string, destinationIdentity: string): SidecarDialRequest => ({
  source: {} as MeshWorkload,
  sourceIdentity: REVIEWS,
  destinationIdentity,
  host,
  port: 15006,
  hostname: 'ratings.default.svc.cluster.local',
  servicePort: ECHO_PORT,
});

test('real sidecars: the second connection resumes the first session; a ticket shown to another sidecar at that address gets a full handshake and the identity check', { timeout: 180_000 }, async (t) => {
  const mesh = await startMesh({ nodes: 2 });
  const ip = mesh.podIp(70);
  const echo = await startNamedEcho(ip, ECHO_PORT, 'ratings-v1');
  let sidecar: Awaited<ReturnType<typeof startSidecar>> | undefined;
  try {
    await mesh.apply(
      service('ratings', 'ratings') +
        pod({ name: 'ratings-v1-abcde', workload: 'ratings-v1', ip, node: 2, labels: { app: 'ratings', version: 'v1', ...SIDECAR_LABEL }, serviceAccount: 'ratings' }) +
        pod({ name: 'reviews-v2-abcde', workload: 'reviews-v2', ip: mesh.podIp(71), node: 1, labels: { app: 'reviews', version: 'v2' }, serviceAccount: 'reviews' }),
    );
    sidecar = await startSidecar(mesh, { name: 'ratings-v1-abcde', ip, node: 2, block: 6 });
    const d = dialer(await meshCertificate(mesh, 1, REVIEWS));

    await t.test('three connections to the ratings sidecar: full handshake, then two resumptions', async () => {
      const reused: boolean[] = [];
      const peers = new Set<unknown>();
      // A connection that has read its ticket has no 'session' listener left; one that got none (a resumed
      // one) keeps the destination's shared listener: nothing of the dial stays reachable per connection.
      const sessionListeners = new Set<unknown>();
      for (let i = 0; i < 3; i++) {
        const { socket, exchange } = await d.dial(request(ip, RATINGS));
        peers.add(exchange.peer);
        assert.equal(exchange.peer?.name, 'ratings-v1-abcde');
        assert.equal(exchange.peer?.workloadName, 'ratings-v1');
        assert.equal(exchange.peer?.identity, RATINGS);
        reused.push(socket.isSessionReused());
        // The bytes still reach the workload behind the sidecar on a resumed session.
        // The socket comes back paused, with what arrived behind the sidecar's frame in `head`.
        let got = exchange.head.toString();
        socket.on('data', (c: Buffer) => (got += c.toString()));
        socket.resume();
        socket.end(`hello ${i}`);
        await once(socket, 'close');
        assert.equal(got, `ratings-v1\nhello ${i}`);
        for (const l of socket.listeners('session')) sessionListeners.add(l);
      }
      assert.deepEqual(reused, [false, true, true]);
      assert.equal(peers.size, 1, 'the sidecar\'s repeated frame decodes to one metadata object');
      assert.equal(sessionListeners.size, 1);
    });

    await t.test('a full handshake with the sidecar brings exactly one ticket (src/config/openssl.cnf; OpenSSL alone sends two)', async () => {
      const cert = await meshCertificate(mesh, 1, REVIEWS);
      const socket = connect({ host: ip, port: 15006, servername: sidecarServerName('ratings.default.svc.cluster.local', ECHO_PORT), key: cert.keyPem, cert: cert.chainPem.join(''), ca: cert.rootPem, ALPNProtocols: MX_ALPN_WIRE, checkServerIdentity: () => undefined });
      let tickets = 0;
      socket.on('session', () => tickets++);
      await once(socket, 'secureConnect');
      assert.equal(socket.isSessionReused(), false);
      // Tickets come right after the handshake, before the sidecar's exchange frame (Node emits them a little
      // later than the bytes behind them): by the end of a whole exchange with the workload, all are in.
      let got = Buffer.alloc(0);
      socket.on('data', (c: Buffer) => (got = Buffer.concat([got, c])));
      socket.end('hello');
      await once(socket, 'close');
      assert.match(got.subarray(MX_HEADER_BYTES).toString('latin1'), /ratings-v1\nhello$/);
      assert.equal(tickets, 1);
    });

    await t.test('another workload\'s sidecar at the same address: the ticket is not honoured, the identity is refused', async () => {
      await sidecar!.stop();
      sidecar = undefined;
      // The address now belongs to details (other identity, other sidecar process, other ticket keys).
      assert.equal(await mesh.deleteResource('/api/v1/namespaces/default/pods/ratings-v1-abcde'), 200);
      await mesh.apply(pod({ name: 'details-v1-abcde', workload: 'details-v1', ip, node: 2, labels: { app: 'details', version: 'v1', ...SIDECAR_LABEL }, serviceAccount: 'details' }));
      sidecar = await startSidecar(mesh, { name: 'details-v1-abcde', ip, node: 2, block: 7 });
      const accepted = echo.accepted;
      await assert.rejects(d.dial(request(ip, RATINGS)), (err: unknown) => {
        assert.ok(err instanceof L4meshError);
        assert.equal(err.code, 'L4MESH_ERR_IDENTITY_MISMATCH');
        assert.match(err.message, new RegExp(`presented identity ${DETAILS}, expected ${RATINGS}`));
        return true;
      });
      assert.equal(echo.accepted, accepted, 'nothing reached the workload');
    });
  } finally {
    await sidecar?.stop();
    await echo.close();
    await mesh.stop();
  }
});
