// What a real node proxy's HBONE port answers when it cannot or must not serve a CONNECT: 503 when the
// pod refuses the connection, a certificate other than the one asked for (the client refuses it), and no
// certificate at all for an identity the node does not hold. The client is the pool every proxy uses,
// holding a mesh certificate of a workload on node-1; the server is `l4mesh ztunnel` node-2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HboneStream } from '../../../src/dataplane/hbone/transport.js';
import { HboneClientPool } from '../../../src/dataplane/hbone/client-pool.js';
import { L4meshError } from '../../../src/errors/index.js';
import { deployEcho } from '../../support/echo-service.js';
import { eventually, startMesh } from '../../support/mesh.js';
import { roundTrip, startNamedEcho, type TestServer } from '../../support/workloads.js';
import { meshCertificate } from '../sidecar/sidecar-mesh.js';
import { eachTransport, transportArgs } from '../../support/transports.js';

const ECHO_ID = 'spiffe://cluster.local/ns/default/sa/echo';
const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';
const ECHO_PORT = 7000;

function echoOver(stream: HboneStream, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    stream.on('data', (c: Buffer) => (got += c.toString()));
    stream.on('end', () => resolve(got));
    stream.on('error', reject);
    stream.end(text);
  });
}

eachTransport('a real node proxy refuses CONNECTs it cannot serve: 503, another identity, unknown SNI', { timeout: 180_000 }, async (transport, t) => {
  const mesh = await startMesh({ nodes: 2, extraZtunnelArgs: transportArgs(transport) });
  const echoIp = mesh.podIp(60);
  // The pod is registered on node-2 but nothing listens on its port yet: it refuses.
  const echo = await deployEcho(mesh, {
    endpoints: [{ name: 'echo-0', node: 2, ip: echoIp, serve: false }],
    client: { name: 'client', node: 1, ip: mesh.podIp(61) },
  });
  const certificate = await meshCertificate(mesh, 1, CLIENT_ID);
  const pool = new HboneClientPool({ tlsFor: (id) => (id === CLIENT_ID ? certificate : undefined), transport });
  const node2 = { host: `127.${mesh.base}.0.2`, port: 15008 };
  const where = `${node2.host}:${node2.port}`;
  const connect = (dstIdentity: string) =>
    pool.connect({ srcIdentity: CLIENT_ID, dstIdentity, dstNode: 'node-2', proxyAddress: node2, authority: `${echoIp}:${ECHO_PORT}`, headers: {} });
  // node-2 holds echo's certificate once the pod is known there.
  await eventually(async () => (JSON.parse(await mesh.proxyGet(2, 15000, '/config_dump')) as { certificates?: Array<{ identity: string }> }).certificates?.some((c) => c.identity === ECHO_ID), 30_000, "echo's certificate on node-2");
  let server: TestServer | undefined;
  try {
    await t.test('the pod refuses: 503, reported as L4MESH_ERR_NO_HEALTHY_UPSTREAM; through the mesh too', async () => {
      await assert.rejects(connect(ECHO_ID), (err: unknown) => {
        assert.ok(err instanceof L4meshError);
        assert.equal(err.code, 'L4MESH_ERR_NO_HEALTHY_UPSTREAM');
        assert.match(err.message, new RegExp(`could not connect to ${echoIp.replace(/\./g, '\\.')}:${ECHO_PORT} \\(HTTP 503\\)`));
        return true;
      });
      const inbound = await eventually(() => mesh.nodes[1]!.proc.output().split('\n').find((l) => l.includes('\terror\taccess\t') && l.includes('direction="inbound"')), 10_000, 'the inbound error line on node-2');
      assert.match(inbound, /src\.identity="spiffe:\/\/cluster\.local\/ns\/default\/sa\/client"/);
      assert.ok(inbound.endsWith(`error="cannot connect to ${echoIp}:${ECHO_PORT}: ECONNREFUSED — is the workload listening on that port?"`), inbound);
      // The same refusal for a workload's connection through node-1: node-1 logs the 503 it got.
      await roundTrip(echo.listen.address, echo.listen.port, 'hello').catch(() => Buffer.alloc(0));
      const outbound = await eventually(() => mesh.nodes[0]!.proc.output().split('\n').find((l) => l.includes('\terror\taccess\t') && l.includes('direction="outbound"')), 10_000, 'the outbound error line on node-1');
      assert.match(outbound, /\(HTTP 503\)/);
    });

    await t.test('once the pod listens, the same CONNECT is served (the refusal was the pod)', async () => {
      server = await startNamedEcho(echoIp, ECHO_PORT, 'echo-0');
      const stream = await connect(ECHO_ID);
      assert.equal(await echoOver(stream, 'ping'), 'echo-0\nping');
    });

    await t.test('a certificate for another identity than the one dialed is refused by the client', async () => {
      // SNI is case-insensitive, SPIFFE ids are not: node-2 answers "…/sa/ECHO" with echo's certificate.
      const dialed = 'spiffe://cluster.local/ns/default/sa/ECHO';
      const accepted = server!.accepted;
      await assert.rejects(connect(dialed), (err: unknown) => {
        assert.ok(err instanceof L4meshError);
        assert.equal(err.code, 'L4MESH_ERR_IDENTITY_MISMATCH');
        assert.match(err.message, new RegExp(`^${where.replace(/\./g, '\\.')} presented identity ${ECHO_ID}, expected ${dialed} — `));
        return true;
      });
      assert.equal(server!.accepted, accepted, 'nothing reached the workload');
    });

    await t.test('an identity node-2 does not hold (unknown SNI) fails the handshake', async () => {
      const accepted = server!.accepted;
      await assert.rejects(connect('spiffe://cluster.local/ns/other/sa/unknown'), (err: unknown) => {
        assert.ok(err instanceof L4meshError);
        assert.equal(err.code, 'L4MESH_ERR_PROTOCOL');
        assert.match(err.message, new RegExp(`^TLS handshake with ${where.replace(/\./g, '\\.')} failed: `));
        return true;
      });
      assert.equal(server!.accepted, accepted, 'nothing reached the workload');
    });
  } finally {
    await pool.close();
    await server?.close();
    await echo.close();
    await mesh.stop();
  }
});
