// 30 sequential connections to a 3-endpoint service land 10/10/10, through two node proxies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMesh, podYaml, eventually } from '../../support/mesh.js';
import { startNamedEcho, roundTrip } from '../../support/workloads.js';

test('round robin over three endpoints on two nodes: 10/10/10, bytes echoed exactly', { timeout: 90_000 }, async () => {
  const mesh = await startMesh({ nodes: 2 });
  const servers = [];
  try {
    const ips = [mesh.podIp(11), mesh.podIp(12), mesh.podIp(13)];
    for (const [i, ip] of ips.entries()) servers.push(await startNamedEcho(ip, 7000, `echo-${i}`));
    let yaml = `apiVersion: v1
kind: Service
metadata:
  name: echo
spec:
  selector:
    app: echo
  ports:
  - name: tcp-echo
    port: 7000
---
`;
    yaml += podYaml({ name: 'echo-0', ip: ips[0]!, node: 'node-1', labels: { app: 'echo', version: 'v1' }, serviceAccount: 'echo' });
    yaml += podYaml({ name: 'echo-1', ip: ips[1]!, node: 'node-2', labels: { app: 'echo', version: 'v1' }, serviceAccount: 'echo' });
    yaml += podYaml({ name: 'echo-2', ip: ips[2]!, node: 'node-2', labels: { app: 'echo', version: 'v1' }, serviceAccount: 'echo' });
    yaml += podYaml({ name: 'client', ip: mesh.podIp(20), node: 'node-1', labels: { app: 'client' }, serviceAccount: 'client' });
    await mesh.apply(yaml);

    const listen = await eventually(async () => {
      const mappings = JSON.parse(await mesh.proxyGet(1, 15000, '/capture')) as Array<{ workload: string; hostname: string; listenAddress: string; listenPort: number }>;
      return mappings.find((m) => m.workload === 'client' && m.hostname === 'echo.default.svc.cluster.local');
    }, 15_000, 'the client outbound listener');
    assert.equal(listen.listenPort, 7000);
    // Every endpoint's certificate must be in place before counting.
    for (const k of [1, 2]) await eventually(async () => (await fetch(`http://127.${mesh.base}.0.${k}:15021/healthz/ready`)).status === 200, 15_000, 'ready');

    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const payload = `request-${i}`;
      const reply = (await roundTrip(listen.listenAddress, listen.listenPort, payload)).toString();
      const [name, echoed] = reply.split('\n');
      assert.equal(echoed, payload, `connection ${i} echoed the bytes it sent`);
      counts.set(name!, (counts.get(name!) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries([...counts].sort()), { 'echo-0': 10, 'echo-1': 10, 'echo-2': 10 });
    assert.deepEqual(servers.map((s) => s.accepted), [10, 10, 10]);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    await mesh.stop();
  }
});
