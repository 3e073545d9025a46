// An ambient client on node-1 reaches a sidecar workload on node-2: the node proxy dials the sidecar's
// :15006 with TLS + istio-peer-exchange as the client. Bytes echo exactly; the sidecar reports
// reporter="destination" with the source labels the node proxy announced, the node proxy reports
// reporter="source" with the destination labels the sidecar announced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TCP_LABEL_NAMES } from '../../../src/dataplane/telemetry/labels.js';
import { eventually, startMesh } from '../../support/mesh.js';
import { select, total } from '../../support/prometheus-text.js';
import { roundTrip, startNamedEcho } from '../../support/workloads.js';
import { ECHO_PORT, labelObject, outboundListener, pod, scrapeAt, service, SIDECAR_LABEL, startSidecar } from './sidecar-mesh.js';

test('node proxy → sidecar: exact bytes, destination and source reports with exchanged labels, mx counters', { timeout: 120_000 }, async () => {
  const mesh = await startMesh({ nodes: 2, reportingDuration: '1s' });
  const serverIp = mesh.podIp(10);
  const clientIp = mesh.podIp(20);
  const echo = await startNamedEcho(serverIp, ECHO_PORT, 'echo-sc');
  let sidecar;
  try {
    await mesh.apply(
      service('echo', 'echo') +
        pod({ name: 'echo-v1-abcde', workload: 'echo-v1', ip: serverIp, node: 2, labels: { app: 'echo', version: 'v1', ...SIDECAR_LABEL }, serviceAccount: 'echo' }) +
        pod({ name: 'sleep-abcde', workload: 'sleep', ip: clientIp, node: 1, labels: { app: 'sleep' }, serviceAccount: 'sleep' }),
    );
    sidecar = await startSidecar(mesh, { name: 'echo-v1-abcde', ip: serverIp, node: 2, block: 4 });
    const listen = await outboundListener(mesh.nodes[0]!.address, 'sleep-abcde', 'echo.default.svc.cluster.local');

    const payload = Buffer.alloc(200_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 0xff;
    const got = await roundTrip(listen.address, listen.port, payload);
    assert.deepEqual(got, Buffer.concat([Buffer.from('echo-sc\n'), payload]), 'the echo reply, byte for byte');

    const common = {
      source_workload: 'sleep',
      source_canonical_service: 'sleep',
      source_canonical_revision: 'latest',
      source_workload_namespace: 'default',
      source_principal: 'spiffe://cluster.local/ns/default/sa/sleep',
      source_app: 'sleep',
      source_version: 'unknown',
      source_cluster: 'Kubernetes',
      destination_service: 'echo.default.svc.cluster.local',
      destination_service_namespace: 'default',
      destination_service_name: 'echo',
      destination_workload: 'echo-v1',
      destination_canonical_service: 'echo',
      destination_canonical_revision: 'v1',
      destination_workload_namespace: 'default',
      destination_principal: 'spiffe://cluster.local/ns/default/sa/echo',
      destination_app: 'echo',
      destination_version: 'v1',
      destination_cluster: 'Kubernetes',
      request_protocol: 'tcp',
      response_flags: '-',
    };
    for (const [ip, reporter, policy] of [
      [serverIp, 'destination', 'mutual_tls'],
      [mesh.nodes[0]!.address, 'source', 'unknown'],
    ] as const) {
      const samples = await eventually(async () => {
        const s = await scrapeAt(ip);
        return total(s, 'istio_tcp_connections_closed_total', { reporter }) === 1 ? s : undefined;
      }, 15_000, `the closed connection on ${reporter}`);
      const opened = select(samples, 'istio_tcp_connections_opened_total', { reporter });
      assert.equal(opened.length, 1, JSON.stringify(opened));
      assert.deepEqual(opened[0]!.labels.map(([k]) => k), [...TCP_LABEL_NAMES], 'label order');
      assert.deepEqual(labelObject(opened[0]!), { reporter, ...common, connection_security_policy: policy });
      assert.equal(opened[0]!.value, 1);
      assert.equal(total(samples, 'istio_tcp_received_bytes_total', { reporter }), payload.length, `${reporter} received`);
      assert.equal(total(samples, 'istio_tcp_sent_bytes_total', { reporter }), payload.length + 'echo-sc\n'.length, `${reporter} sent`);
      assert.equal(total(samples, 'envoy_metadata_exchange_alpn_protocol_found'), 1, `${reporter}: ALPN found`);
      assert.equal(total(samples, 'envoy_metadata_exchange_metadata_added'), 1, `${reporter}: metadata written`);
      assert.equal(total(samples, 'envoy_metadata_exchange_alpn_protocol_not_found'), 0);
      assert.equal(total(samples, 'envoy_metadata_exchange_initial_header_not_found'), 0);
      assert.equal(total(samples, 'envoy_metadata_exchange_header_not_found'), 0);
    }
    // The node proxy's line: TLS to the sidecar is no HBONE tunnel, so dst.addr is the workload's ip:port
    // and there is no dst.hbone_addr (ztunnel, which sends a sidecar plain TCP, logs it the same way).
    const line = await eventually(() => mesh.nodes[0]!.proc.output().split('\n').find((l) => l.includes('\tconnection complete\t') && l.includes('direction="outbound"')), 15_000, 'the outbound access line');
    assert.deepEqual(['dst.addr', 'dst.hbone_addr', 'dst.workload'].map((f) => new RegExp(`\\s${f.replace('.', '\\.')}=(\\S+)`).exec(line)?.[1]), [`${serverIp}:${ECHO_PORT}`, undefined, '"echo-v1-abcde"'], line);
  } finally {
    await sidecar?.stop();
    await echo.close();
    await mesh.stop();
  }
});
