// A destination node proxy killed (SIGKILL) while a service has endpoints on both nodes: no new connection
// fails (a refused connect is retried on the other node's endpoint, and the dead node is ejected for a
// while), and once the proxy is back its endpoint gets connections again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMesh, eventually } from '../../support/mesh.js';
import { deployEcho } from '../../support/echo-service.js';
import { roundTrip } from '../../support/workloads.js';

/** Connections while node-2 is down: enough to hit its endpoint many times without the retry. */
const ATTEMPTS = 40;
/** Connections in flight at once: several pick the dead node at the same moment. */
const CONCURRENCY = 4;

async function names(address: string, port: number, total: number, concurrency: number): Promise<{ ok: string[]; failed: string[] }> {
  const ok: string[] = [];
  const failed: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      try {
        const reply = (await roundTrip(address, port, `ping ${i}`)).toString();
        if (reply.endsWith(`ping ${i}`)) ok.push(reply.split('\n')[0]!);
        else failed.push(`#${i}: ${JSON.stringify(reply)}`);
      } catch (err) {
        failed.push(`#${i}: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ok, failed };
}

test('SIGKILL of a destination node proxy: every new connection still succeeds, and its endpoint returns when it does', { timeout: 150_000 }, async () => {
  const mesh = await startMesh({ nodes: 2 });
  try {
    const echo = await deployEcho(mesh, {
      endpoints: [
        { name: 'echo-a', node: 1, ip: mesh.podIp(80) },
        { name: 'echo-b', node: 2, ip: mesh.podIp(81) },
      ],
      client: { name: 'client', node: 1, ip: mesh.podIp(82) },
    });
    const { address, port } = echo.listen;
    const before = await names(address, port, 4, 1);
    assert.deepEqual(before.failed, []);
    assert.deepEqual(before.ok.sort(), ['echo-a', 'echo-a', 'echo-b', 'echo-b']);

    const node2 = mesh.nodes[1]!;
    const gone = new Promise((resolve) => node2.proc.proc.once('exit', resolve));
    node2.proc.proc.kill('SIGKILL');
    await gone;

    const during = await names(address, port, ATTEMPTS, CONCURRENCY);
    assert.deepEqual(during.failed, [], 'no connection fails while node-2 is down');
    assert.equal(during.ok.length, ATTEMPTS);
    assert.deepEqual([...new Set(during.ok)], ['echo-a']);
    assert.match(mesh.nodes[0]!.proc.output(), new RegExp(`ejecting an upstream after a failed connect.*upstream="?127\\.${mesh.base}\\.0\\.2:15008`));

    await mesh.startNode(2);
    await eventually(async () => (await fetch(`http://127.${mesh.base}.0.2:15021/healthz/ready`)).status === 200, 15_000, 'node-2 ready again');
    // The ejection runs out (at most OUTLIER_MAX_EJECTION_MS) and round robin reaches echo-b again.
    const after: string[] = [];
    await eventually(async () => {
      const r = await names(address, port, 2, 1);
      assert.deepEqual(r.failed, []);
      after.push(...r.ok);
      return after.includes('echo-b');
    }, 30_000, 'echo-b answering again');
    await echo.close();
  } finally {
    await mesh.stop();
  }
});
