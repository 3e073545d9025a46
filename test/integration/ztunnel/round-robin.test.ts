// 30 sequential connections to a 3-endpoint service land 10/10/10, through two node proxies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMesh } from '../../support/mesh.js';
import { deployEcho } from '../../support/echo-service.js';
import { roundTrip } from '../../support/workloads.js';

test('round robin over three endpoints on two nodes: 10/10/10, bytes echoed exactly', { timeout: 90_000 }, async () => {
  const mesh = await startMesh({ nodes: 2 });
  try {
    const echo = await deployEcho(mesh, {
      endpoints: [
        { name: 'echo-0', node: 1, ip: mesh.podIp(11) },
        { name: 'echo-1', node: 2, ip: mesh.podIp(12) },
        { name: 'echo-2', node: 2, ip: mesh.podIp(13) },
      ],
      client: { name: 'client', node: 1, ip: mesh.podIp(20) },
    });
    assert.equal(echo.listen.port, 7000);
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const payload = `request-${i}`;
      const reply = (await roundTrip(echo.listen.address, echo.listen.port, payload)).toString();
      const [name, echoed] = reply.split('\n');
      assert.equal(echoed, payload, `connection ${i} echoed the bytes it sent`);
      counts.set(name!, (counts.get(name!) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries([...counts].sort()), { 'echo-0': 10, 'echo-1': 10, 'echo-2': 10 });
    assert.deepEqual(echo.servers.map((s) => s.accepted), [10, 10, 10]);
    await echo.close();
  } finally {
    await mesh.stop();
  }
});
