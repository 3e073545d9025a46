// A sidecar workload on node-1 reaches an ambient workload on node-2: the sidecar's outbound listener
// tunnels over HBONE to node-2's proxy. Bytes echo exactly; both ends report with registry labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startMesh } from '../../support/mesh.js';
import { select, total } from '../../support/prometheus-text.js';
import { roundTrip, startNamedEcho } from '../../support/workloads.js';
import { ECHO_PORT, labelObject, outboundListener, pod, scrapeAt, service, SIDECAR_LABEL, startSidecar } from './sidecar-mesh.js';

test('sidecar → ambient workload over HBONE: exact bytes, source report on the sidecar, destination report on the node proxy', { timeout: 120_000 }, async () => {
  const mesh = await startMesh({ nodes: 2, reportingDuration: '1s' });
  const serverIp = mesh.podIp(10);
  const clientIp = mesh.podIp(20);
  const echo = await startNamedEcho(serverIp, ECHO_PORT, 'echo-ambient');
  let sidecar;
  try {
    await mesh.apply(
      service('echo', 'echo') +
        pod({ name: 'echo-v1-abcde', workload: 'echo-v1', ip: serverIp, node: 2, labels: { app: 'echo', version: 'v1' }, serviceAccount: 'echo' }) +
        pod({ name: 'client-abcde', workload: 'client', ip: clientIp, node: 1, labels: { app: 'client', version: 'v3', ...SIDECAR_LABEL }, serviceAccount: 'client' }),
    );
    sidecar = await startSidecar(mesh, { name: 'client-abcde', ip: clientIp, node: 1, block: 5 });
    const listen = await outboundListener(clientIp, 'client-abcde', 'echo.default.svc.cluster.local');
    assert.equal(listen.address.startsWith(`127.${mesh.base}.5.`), true, `listener ${listen.address} inside the sidecar's --capture-range`);

    const payload = Buffer.from('hello over hbone from a sidecar\n'.repeat(1000));
    const got = await roundTrip(listen.address, listen.port, payload);
    assert.deepEqual(got, Buffer.concat([Buffer.from('echo-ambient\n'), payload]));

    const want = {
      source_workload: 'client',
      source_canonical_revision: 'v3',
      source_principal: 'spiffe://cluster.local/ns/default/sa/client',
      source_version: 'v3',
      destination_workload: 'echo-v1',
      destination_principal: 'spiffe://cluster.local/ns/default/sa/echo',
      destination_version: 'v1',
      destination_service: 'echo.default.svc.cluster.local',
    };
    for (const [ip, reporter] of [
      [clientIp, 'source'],
      [mesh.nodes[1]!.address, 'destination'],
    ] as const) {
      const samples = await eventually(async () => {
        const s = await scrapeAt(ip);
        return total(s, 'istio_tcp_connections_closed_total', { reporter }) === 1 ? s : undefined;
      }, 15_000, `the closed connection on ${reporter}`);
      const [opened] = select(samples, 'istio_tcp_connections_opened_total', { reporter });
      const labels = labelObject(opened!);
      for (const [k, v] of Object.entries(want)) assert.equal(labels[k], v, `${reporter} ${k}`);
      assert.equal(total(samples, 'istio_tcp_received_bytes_total', { reporter }), payload.length);
      assert.equal(total(samples, 'istio_tcp_sent_bytes_total', { reporter }), payload.length + 'echo-ambient\n'.length);
    }
    // HBONE, not the peer exchange: the sidecar wrote no metadata frame.
    const added = select(await scrapeAt(clientIp), 'envoy_metadata_exchange_metadata_added');
    assert.deepEqual(added.map((s) => [s.labels, s.value]), [[[], 0]], 'the counter is exported, at 0');
    // The node proxy of node-1 leaves the sidecar workload alone: no listener for it there.
    const nodeCapture = JSON.parse(await mesh.proxyGet(1, 15000, '/capture')) as Array<{ workload: string }>;
    assert.deepEqual(nodeCapture.filter((m) => m.workload === 'client-abcde'), []);
  } finally {
    await sidecar?.stop();
    await echo.close();
    await mesh.stop();
  }
});
