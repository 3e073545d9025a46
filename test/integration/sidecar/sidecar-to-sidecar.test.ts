// Sidecar → sidecar: TLS + istio-peer-exchange both ways. Each sidecar announces a label value the
// registry does not have (--label version=...), and the other side's istio_tcp_* series carry it: proof
// that the peer labels came over the wire, not from the registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startMesh } from '../../support/mesh.js';
import { select, total } from '../../support/prometheus-text.js';
import { roundTrip, startNamedEcho } from '../../support/workloads.js';
import { ECHO_PORT, labelObject, outboundListener, pod, scrapeAt, service, SIDECAR_LABEL, startSidecar } from './sidecar-mesh.js';

test('sidecar → sidecar: exchange both ways; labels only the peers know reach the metrics', { timeout: 120_000 }, async () => {
  const mesh = await startMesh({ nodes: 2, reportingDuration: '1s' });
  const serverIp = mesh.podIp(10);
  const clientIp = mesh.podIp(20);
  // Service port 80 → target port 7000: the server sidecar maps the port named in SNI.
  const echo = await startNamedEcho(serverIp, ECHO_PORT, 'echo-sc');
  const sidecars = [];
  try {
    await mesh.apply(
      service('echo', 'echo', 80, ECHO_PORT) +
        pod({ name: 'echo-v1-abcde', workload: 'echo-v1', ip: serverIp, node: 2, labels: { app: 'echo', version: 'v1', ...SIDECAR_LABEL }, serviceAccount: 'echo' }) +
        pod({ name: 'client-abcde', workload: 'client', ip: clientIp, node: 1, labels: { app: 'client', version: 'v1', ...SIDECAR_LABEL }, serviceAccount: 'client' }),
    );
    sidecars.push(await startSidecar(mesh, { name: 'echo-v1-abcde', ip: serverIp, node: 2, block: 4, extraArgs: ['--label', 'version=v-server-wire'] }));
    sidecars.push(await startSidecar(mesh, { name: 'client-abcde', ip: clientIp, node: 1, block: 5, extraArgs: ['--label', 'version=v-client-wire'] }));
    const listen = await outboundListener(clientIp, 'client-abcde', 'echo.default.svc.cluster.local');
    assert.equal(listen.port, 80);

    const payload = Buffer.from('sidecar to sidecar\n'.repeat(500));
    const got = await roundTrip(listen.address, listen.port, payload);
    assert.deepEqual(got, Buffer.concat([Buffer.from('echo-sc\n'), payload]));

    // The registry still says v1 for both: only the exchanged metadata carries the -wire values.
    const registry = JSON.parse(await mesh.proxyGet(1, 15000, '/config_dump')) as { workloads: Array<{ name: string; labels: Record<string, string> }> };
    assert.equal(registry.workloads.find((w) => w.name === 'client-abcde')?.labels['version'], 'v1');
    assert.equal(registry.workloads.find((w) => w.name === 'echo-v1-abcde')?.labels['version'], 'v1');

    const expected = {
      source: { ip: clientIp, labels: { source_version: 'v1', destination_version: 'v-server-wire', connection_security_policy: 'unknown' } },
      destination: { ip: serverIp, labels: { source_version: 'v-client-wire', destination_version: 'v1', connection_security_policy: 'mutual_tls' } },
    };
    for (const [reporter, { ip, labels: want }] of Object.entries(expected)) {
      const samples = await eventually(async () => {
        const s = await scrapeAt(ip);
        return total(s, 'istio_tcp_connections_closed_total', { reporter }) === 1 ? s : undefined;
      }, 15_000, `the closed connection on ${reporter}`);
      const opened = select(samples, 'istio_tcp_connections_opened_total', { reporter });
      assert.equal(opened.length, 1);
      const labels = labelObject(opened[0]!);
      assert.deepEqual(
        {
          source_workload: labels['source_workload'],
          source_app: labels['source_app'],
          source_version: labels['source_version'],
          source_principal: labels['source_principal'],
          destination_workload: labels['destination_workload'],
          destination_app: labels['destination_app'],
          destination_version: labels['destination_version'],
          destination_principal: labels['destination_principal'],
          destination_service: labels['destination_service'],
          connection_security_policy: labels['connection_security_policy'],
        },
        {
          source_workload: 'client',
          source_app: 'client',
          source_principal: 'spiffe://cluster.local/ns/default/sa/client',
          destination_workload: 'echo-v1',
          destination_app: 'echo',
          destination_principal: 'spiffe://cluster.local/ns/default/sa/echo',
          destination_service: 'echo.default.svc.cluster.local',
          ...want,
        },
        `${reporter} labels`,
      );
      assert.equal(total(samples, 'istio_tcp_received_bytes_total', { reporter }), payload.length);
      assert.equal(total(samples, 'istio_tcp_sent_bytes_total', { reporter }), payload.length + 'echo-sc\n'.length);
      assert.equal(total(samples, 'envoy_metadata_exchange_alpn_protocol_found'), 1);
      assert.equal(total(samples, 'envoy_metadata_exchange_metadata_added'), 1);
    }
  } finally {
    await Promise.all(sidecars.map((s) => s.stop()));
    await echo.close();
    await mesh.stop();
  }
});
