// A workload's first connection right after its pod turns Ready in the API: the update may still be on its
// way to the source proxy, which then waits for it (bounded by the connect timeout) instead of answering
// "no healthy upstream". Eight fresh deployments in a row, each connected to the moment Ready is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMesh, eventually, podYaml, type TestMesh } from '../../support/mesh.js';
import { roundTrip, startNamedEcho } from '../../support/workloads.js';

const DEPLOYMENTS = 8;
const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - name: tcp-web
    port: 7000
---
`;

/** The pod as the local runtime first writes it: scheduled, addressed, not running yet. */
function pendingPod(name: string, ip: string, node: string): string {
  return podYaml({ name, ip, node, labels: { app: 'web' }, serviceAccount: 'web' }).replace(/status:\n[\s\S]*$/, `status:\n  phase: Pending\n  podIP: ${ip}\n---\n`);
}

async function workloadNames(mesh: TestMesh): Promise<string[]> {
  const dump = JSON.parse(await mesh.proxyGet(1, 15000, '/config_dump')) as { workloads: Array<{ name: string }> };
  return dump.workloads.map((w) => w.name);
}

test('the first connection to a just-deployed workload, made the moment its pod is Ready, succeeds', { timeout: 180_000 }, async () => {
  const mesh = await startMesh({ nodes: 2 });
  try {
    await mesh.apply(SERVICE + podYaml({ name: 'client', ip: mesh.podIp(120), node: 'node-1', labels: { app: 'client' }, serviceAccount: 'client' }));
    const listen = await eventually(async () => {
      const all = JSON.parse(await mesh.proxyGet(1, 15000, '/capture')) as Array<{ workload: string; hostname: string; listenAddress: string; listenPort: number }>;
      return all.find((m) => m.workload === 'client' && m.hostname === 'web.default.svc.cluster.local');
    }, 15_000, 'the client outbound listener for web');
    const replies: string[] = [];
    for (let i = 1; i <= DEPLOYMENTS; i++) {
      const name = `web-${i}`;
      const ip = mesh.podIp(120 + i);
      const node = `node-${1 + (i % 2)}`;
      const server = await startNamedEcho(ip, 7000, name);
      try {
        await mesh.apply(pendingPod(name, ip, node));
        // The runtime marks a pod Ready only after its node proxy has it, so the Pending pod is everywhere by then.
        await eventually(async () => (await workloadNames(mesh)).includes(name), 15_000, `${name} known to node-1`);
        await mesh.apply(podYaml({ name, ip, node, labels: { app: 'web' }, serviceAccount: 'web' }));
        const reply = await roundTrip(listen.listenAddress, listen.listenPort, 'first').catch((err: Error) => Buffer.from(`error: ${err.message}`));
        replies.push(reply.toString());
        assert.equal(await mesh.deleteResource(`/api/v1/namespaces/default/pods/${name}`), 200);
        await eventually(async () => !(await workloadNames(mesh)).includes(name), 15_000, `${name} gone from node-1`);
      } finally {
        await server.close();
      }
    }
    assert.deepEqual(replies, Array.from({ length: DEPLOYMENTS }, (_, i) => `web-${i + 1}\nfirst`));
  } finally {
    await mesh.stop();
  }
});
