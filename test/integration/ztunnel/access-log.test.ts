// Access-log lines of both directions match DESIGN §6 exactly (field order, quoting, duration), in
// text and in JSON; the destination addresses as ztunnel logs them (dst.addr = the tunnel's node proxy
// ip:15008, dst.hbone_addr = the workload ip:port), and a workload outside the mesh as dialled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMesh, eventually, podYaml } from '../../support/mesh.js';
import { deployEcho } from '../../support/echo-service.js';
import { roundTrip } from '../../support/workloads.js';

const TS = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}Z';

function accessLines(output: string, direction: string): string[] {
  return output.split('\n').filter((l) => l.includes('connection complete') && l.includes(direction));
}

test('text access log: one exact line per connection and direction', { timeout: 90_000 }, async () => {
  const mesh = await startMesh({ nodes: 2 });
  try {
    const b = mesh.base;
    const echo = await deployEcho(mesh, {
      endpoints: [{ name: 'echo-0', node: 2, ip: mesh.podIp(80) }],
      client: { name: 'client', node: 1, ip: mesh.podIp(81) },
    });
    assert.equal((await roundTrip(echo.listen.address, echo.listen.port, 'twelve bytes')).toString(), 'echo-0\ntwelve bytes');
    const outbound = await eventually(() => accessLines(mesh.nodes[0]!.proc.output(), 'direction="outbound"')[0], 5_000, 'the outbound line');
    const inbound = await eventually(() => accessLines(mesh.nodes[1]!.proc.output(), 'direction="inbound"')[0], 5_000, 'the inbound line');
    const id = (sa: string) => `spiffe://cluster\\.local/ns/default/sa/${sa}`;
    assert.match(
      outbound,
      new RegExp(
        `^${TS}\\tinfo\\taccess\\tconnection complete\\t` +
          `src\\.addr=127\\.0\\.0\\.1:\\d+ src\\.workload="client" src\\.namespace="default" src\\.identity="${id('client')}" ` +
          `dst\\.addr=127\\.${b}\\.0\\.2:15008 dst\\.hbone_addr=127\\.${b}\\.1\\.80:7000 dst\\.service="echo\\.default\\.svc\\.cluster\\.local" ` +
          `dst\\.workload="echo-0" dst\\.namespace="default" dst\\.identity="${id('echo')}" ` +
          `direction="outbound" bytes_sent=12 bytes_recv=19 duration="\\d+ms"$`,
      ),
    );
    assert.match(
      inbound,
      new RegExp(
        `^${TS}\\tinfo\\taccess\\tconnection complete\\t` +
          `src\\.addr=127\\.${b}\\.1\\.81:\\d+ src\\.workload="client" src\\.namespace="default" src\\.identity="${id('client')}" ` +
          `dst\\.addr=127\\.${b}\\.0\\.2:15008 dst\\.hbone_addr=127\\.${b}\\.1\\.80:7000 dst\\.service="echo\\.default\\.svc\\.cluster\\.local" ` +
          `dst\\.workload="echo-0" dst\\.namespace="default" dst\\.identity="${id('echo')}" ` +
          `direction="inbound" bytes_sent=19 bytes_recv=12 duration="\\d+ms"$`,
      ),
    );
    await echo.close();
  } finally {
    await mesh.stop();
  }
});

test('--log-format json: the same fields as JSON', { timeout: 90_000 }, async () => {
  const mesh = await startMesh({ nodes: 1, extraZtunnelArgs: ['--log-format', 'json'] });
  try {
    const echo = await deployEcho(mesh, {
      endpoints: [{ name: 'echo-0', node: 1, ip: mesh.podIp(82) }],
      client: { name: 'client', node: 1, ip: mesh.podIp(83) },
    });
    await roundTrip(echo.listen.address, echo.listen.port, 'abc');
    const lines = await eventually(() => {
      const found = mesh.nodes[0]!.proc.output().split('\n').filter((l) => l.startsWith('{') && l.includes('connection complete'));
      return found.length === 2 ? found : undefined;
    }, 5_000, 'two JSON access lines (same-node traffic: outbound and inbound)');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const byDirection = Object.fromEntries(records.map((r) => [r['direction'], r]));
    const outbound = byDirection['outbound']!;
    assert.equal(outbound['level'], 'info');
    assert.equal(outbound['scope'], 'access');
    assert.equal(outbound['message'], 'connection complete');
    assert.equal(outbound['src.workload'], 'client');
    assert.equal(outbound['dst.workload'], 'echo-0');
    assert.equal(outbound['dst.service'], 'echo.default.svc.cluster.local');
    assert.equal(outbound['bytes_sent'], 3);
    assert.equal(outbound['bytes_recv'], 10);
    assert.match(String(outbound['duration']), /^\d+ms$/);
    assert.equal(byDirection['inbound']!['bytes_sent'], 10);
    assert.equal(byDirection['inbound']!['bytes_recv'], 3);
    // Same node: both lines name the tunnel to node-1's own proxy, and the workload inside it.
    const addrs = (r: Record<string, unknown>) => [r['dst.addr'], r['dst.hbone_addr']];
    const tunnelled = [`127.${mesh.base}.0.1:15008`, `${mesh.podIp(82)}:7000`];
    assert.deepEqual([addrs(outbound), addrs(byDirection['inbound']!)], [tunnelled, tunnelled]);
    await echo.close();
  } finally {
    await mesh.stop();
  }
});

test('a workload outside the mesh: plain TCP to the address dialled, dst.addr alone and no dst.hbone_addr', { timeout: 90_000 }, async () => {
  const mesh = await startMesh({ nodes: 2 });
  let echo: Awaited<ReturnType<typeof deployEcho>> | undefined;
  try {
    const ip = mesh.podIp(84);
    echo = await deployEcho(mesh, {
      endpoints: [{ name: 'echo-0', node: 2, ip }],
      client: { name: 'client', node: 1, ip: mesh.podIp(85) },
    });
    // The same pod, opted out of the mesh: its node proxy no longer carries it, the source dials it directly.
    await mesh.apply(podYaml({ name: 'echo-0', ip, node: 'node-2', labels: { app: 'echo', version: 'v1', 'istio.io/dataplane-mode': 'none' }, serviceAccount: 'echo' }));
    await eventually(async () => {
      const dump = JSON.parse(await mesh.proxyGet(1, 15000, '/config_dump')) as { workloads: Array<{ name: string; tunnelProtocol: string }> };
      return dump.workloads.find((w) => w.name === 'echo-0')?.tunnelProtocol === 'NONE';
    }, 15_000, 'node-1 to see echo-0 out of the mesh');
    assert.equal((await roundTrip(echo.listen.address, echo.listen.port, 'plain')).toString(), 'echo-0\nplain');
    const outbound = await eventually(() => accessLines(mesh.nodes[0]!.proc.output(), 'direction="outbound"')[0], 5_000, 'the outbound line');
    assert.match(
      outbound,
      new RegExp(
        `^${TS}\\tinfo\\taccess\\tconnection complete\\t` +
          `src\\.addr=127\\.0\\.0\\.1:\\d+ src\\.workload="client" src\\.namespace="default" src\\.identity="spiffe://cluster\\.local/ns/default/sa/client" ` +
          `dst\\.addr=${ip.replace(/\./g, '\\.')}:7000 dst\\.service="echo\\.default\\.svc\\.cluster\\.local" ` +
          `dst\\.workload="echo-0" dst\\.namespace="default" dst\\.identity="spiffe://cluster\\.local/ns/default/sa/echo" ` +
          `direction="outbound" bytes_sent=5 bytes_recv=12 duration="\\d+ms"$`,
      ),
    );
    // Nothing was tunnelled, so node-2 carried nothing.
    assert.deepEqual(accessLines(mesh.nodes[1]!.proc.output(), 'connection complete'), []);
  } finally {
    await echo?.close();
    await mesh.stop();
  }
});
