// With the control plane stopped, node proxies keep forwarding with the config they have; when it is
// back they reconnect and pick up what changed meanwhile. A removed endpoint stops getting new
// connections within 1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMesh, eventually, podYaml } from '../../support/mesh.js';
import { deployEcho } from '../../support/echo-service.js';
import { roundTrip, startNamedEcho } from '../../support/workloads.js';
import { ResourceStore } from '../../../src/controlplane/store/resource-store.js';
import { parseManifests } from '../../../src/api/manifest.js';

async function namesOf(address: string, port: number, n: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < n; i++) names.push((await roundTrip(address, port, 'x')).toString().split('\n')[0]!);
  return names;
}

test('control plane down: forwarding continues, changes made meanwhile arrive after reconnect', { timeout: 120_000 }, async () => {
  const mesh = await startMesh({ nodes: 2 });
  const echo = await deployEcho(mesh, {
    endpoints: [{ name: 'echo-a', node: 2, ip: mesh.podIp(60) }],
    client: { name: 'client', node: 1, ip: mesh.podIp(61) },
  });
  const extra = await startNamedEcho(mesh.podIp(62), 7000, 'echo-b');
  try {
    assert.deepEqual(await namesOf(echo.listen.address, echo.listen.port, 2), ['echo-a', 'echo-a']);
    await mesh.controlPlane.stop('SIGKILL');
    // Data path unaffected: same listener, same endpoint.
    assert.deepEqual(await namesOf(echo.listen.address, echo.listen.port, 3), ['echo-a', 'echo-a', 'echo-a']);
    await eventually(() => mesh.nodes[0]!.proc.output().includes('lost the control plane'), 10_000, 'the proxy to notice');

    // A change written to the state while no control plane runs (as a restore from backup would).
    const store = await ResourceStore.open(mesh.stateDir);
    await store.apply(parseManifests(podYaml({ name: 'echo-b', ip: mesh.podIp(62), node: 'node-2', labels: { app: 'echo', version: 'v1' }, serviceAccount: 'echo' })));

    await mesh.startControlPlane();
    await eventually(() => (mesh.nodes[0]!.proc.output().match(/connected to the control plane/g) ?? []).length >= 2, 20_000, 'node-1 to reconnect');
    // Every connection is answered, also the first ones to echo-b: node-2 holds their handshake until
    // echo-b's certificate, requested when the pod arrived, is there.
    const all: string[] = [];
    await eventually(async () => {
      const seen = await namesOf(echo.listen.address, echo.listen.port, 4);
      all.push(...seen);
      return seen.includes('echo-b');
    }, 20_000, 'the endpoint added while the control plane was down');
    assert.deepEqual([...new Set(all)].sort(), ['echo-a', 'echo-b']);
  } finally {
    await extra.close();
    await echo.close();
    await mesh.stop();
  }
});

test('an endpoint removed in the control plane gets no new connection 1 s later', { timeout: 120_000 }, async () => {
  const mesh = await startMesh({ nodes: 2 });
  const echo = await deployEcho(mesh, {
    endpoints: [
      { name: 'echo-a', node: 2, ip: mesh.podIp(70) },
      { name: 'echo-b', node: 2, ip: mesh.podIp(71) },
    ],
    client: { name: 'client', node: 1, ip: mesh.podIp(72) },
  });
  try {
    assert.deepEqual((await namesOf(echo.listen.address, echo.listen.port, 4)).sort(), ['echo-a', 'echo-a', 'echo-b', 'echo-b']);
    assert.equal(await mesh.deleteResource('/api/v1/namespaces/default/pods/echo-b'), 200);
    const removedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1_000 - (Date.now() - removedAt)));
    const before = echo.servers[1]!.accepted;
    const after = await namesOf(echo.listen.address, echo.listen.port, 10);
    assert.deepEqual(after, Array(10).fill('echo-a'));
    assert.equal(echo.servers[1]!.accepted, before);
  } finally {
    await echo.close();
    await mesh.stop();
  }
});
