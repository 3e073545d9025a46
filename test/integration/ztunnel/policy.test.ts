// Who may connect: certificates from another CA are refused at :15008, AuthorizationPolicy denials are
// answered 401 and logged on both sides, plaintext on :15006 is refused under PeerAuthentication STRICT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startMesh, eventually, type TestMesh } from '../../support/mesh.js';
import { deployEcho } from '../../support/echo-service.js';
import { roundTrip } from '../../support/workloads.js';
import { createTestCa } from '../../support/test-pki.js';
import { HboneClientPool } from '../../../src/dataplane/hbone/client-pool.js';
import { L4meshError } from '../../../src/errors/index.js';

const ECHO_ID = 'spiffe://cluster.local/ns/default/sa/echo';
const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';

/** Sends `CONNECT target` in plaintext to a node proxy's :15006 and returns the status line. */
function plaintextConnect(mesh: TestMesh, node: number, target: string, payload: string): Promise<{ status: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: `127.${mesh.base}.0.${node}`, port: 15006 });
    let data = '';
    let sent = false;
    socket.on('data', (c) => {
      data += c.toString();
      // The payload follows the proxy's answer: only a tunnel that is established (200) gets it.
      if (!sent && data.startsWith('HTTP/1.1 200 ') && data.includes('\r\n\r\n')) {
        sent = true;
        socket.end(payload);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      resolve({ status: head!.split('\r\n')[0]!, body: rest.join('\r\n\r\n') });
    });
    socket.on('connect', () => socket.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n\r\n`));
  });
}

test('mesh policy on the inbound side', { timeout: 120_000 }, async (t) => {
  const mesh = await startMesh({ nodes: 2 });
  const echoIp = mesh.podIp(40);
  const echo = await deployEcho(mesh, {
    endpoints: [{ name: 'echo-0', node: 2, ip: echoIp }],
    client: { name: 'client', node: 1, ip: mesh.podIp(41) },
  });
  try {
    await t.test('a client certificate from another CA is refused at :15008', async () => {
      const other = await createTestCa('not the mesh root');
      const foreign = await other.issue(CLIENT_ID);
      foreign.rootPem = await readFile(join(mesh.stateDir, 'ca', 'root-cert.pem'), 'utf8');
      const pool = new HboneClientPool({ tlsFor: () => ({ keyPem: foreign.keyPem, chainPem: foreign.chainPem.slice(0, -1), rootPem: foreign.rootPem }) });
      try {
        await assert.rejects(
          pool.connect({
            srcIdentity: CLIENT_ID,
            dstIdentity: ECHO_ID,
            dstNode: 'node-2',
            proxyAddress: { host: `127.${mesh.base}.0.2`, port: 15008 },
            authority: `${echoIp}:7000`,
            headers: {},
          }),
          // The server refused our certificate, so the code is CERTIFICATE, whether its close reaches us as
          // the end of the connection or as a reset that overtakes its alert (27 and 3 of 30 dials measured).
          (err: unknown) => {
            assert.ok(err instanceof L4meshError);
            assert.equal(err.code, 'L4MESH_ERR_CERTIFICATE', err.message);
            assert.match(err.message, /refused our certificate/);
            return true;
          },
        );
      } finally {
        pool.close();
      }
      assert.equal(echo.servers[0]!.accepted, 0);
    });

    await t.test('an identity denied by AuthorizationPolicy gets 401 and both access logs show it', async () => {
      await mesh.apply(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: echo-only-from-admin
spec:
  selector:
    matchLabels:
      app: echo
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/admin"]
`);
      await eventually(
        async () => JSON.parse(await mesh.proxyGet(2, 15000, '/config_dump')).policies.some((p: { name: string }) => p.name === 'echo-only-from-admin'),
        10_000,
        'the policy on node-2',
      );
      // A denied connection gets no byte and ends with a reset, like every connection the mesh refuses.
      await assert.rejects(roundTrip(echo.listen.address, echo.listen.port, 'hello'), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET');
      assert.equal(echo.servers[0]!.accepted, 0);
      const inbound = await eventually(() => mesh.nodes[1]!.proc.output().split('\n').find((l) => l.includes('direction="inbound"') && l.includes('\terror\t')), 5_000, 'the inbound denial line');
      assert.match(inbound, /\terror\taccess\tconnection complete\t/);
      assert.match(inbound, /src\.identity="spiffe:\/\/cluster\.local\/ns\/default\/sa\/client"/);
      assert.match(inbound, /error="connection denied by authorization policy: allow policies exist but none matched"$/);
      const outbound = await eventually(() => mesh.nodes[0]!.proc.output().split('\n').find((l) => l.includes('direction="outbound"') && l.includes('\terror\t')), 5_000, 'the outbound denial line');
      assert.match(outbound, /error="connection to .* was denied by the destination's authorization policy \(HTTP 401\)"$/);
      assert.equal(await mesh.deleteResource('/apis/security.istio.io/v1/namespaces/default/authorizationpolicies/echo-only-from-admin'), 200);
    });

    await t.test('plaintext on :15006 is accepted without STRICT and refused with 401 under STRICT', async () => {
      await eventually(async () => {
        const r = await plaintextConnect(mesh, 2, `${echoIp}:7000`, 'plain');
        return r.status === 'HTTP/1.1 200 Connection Established' && r.body === 'echo-0\nplain' ? r : undefined;
      }, 10_000, 'plaintext accepted once the AuthorizationPolicy is gone');
      await mesh.apply(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: STRICT
`);
      const refused = await eventually(async () => {
        const r = await plaintextConnect(mesh, 2, `${echoIp}:7000`, 'plain');
        return r.status.startsWith('HTTP/1.1 401') ? r : undefined;
      }, 10_000, 'plaintext refused under STRICT');
      assert.equal(refused.status, 'HTTP/1.1 401 Unauthorized');
      // mTLS traffic through the mesh still flows.
      assert.equal((await roundTrip(echo.listen.address, echo.listen.port, 'mtls')).toString(), 'echo-0\nmtls');
    });
  } finally {
    await echo.close();
    await mesh.stop();
  }
});
