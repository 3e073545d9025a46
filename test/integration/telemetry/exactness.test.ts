// 20 connections with known byte counts both ways → exact istio_tcp_* totals on both reporters, with the
// full DESIGN §6 label set (every value, and the order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TCP_LABEL_NAMES } from '../../../src/dataplane/telemetry/labels.js';
import { eventually } from '../../support/mesh.js';
import { select, total } from '../../support/prometheus-text.js';
import { exchange, scrape, sizedRequest, startEchoMesh } from './telemetry-mesh.js';

const N = 20;

function expectedLabels(reporter: 'source' | 'destination'): Array<[string, string]> {
  const values: Record<string, string> = {
    reporter,
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
    connection_security_policy: reporter === 'destination' ? 'mutual_tls' : 'unknown',
  };
  return TCP_LABEL_NAMES.map((n) => [n, values[n]!]);
}

test('N connections with known bytes: opened = closed = N, sent/received exact, full label set in order on both reporters', { timeout: 120_000 }, async () => {
  const env = await startEchoMesh();
  try {
    const { mesh, listen } = env;
    let sumA = 0;
    let sumB = 0;
    for (let i = 0; i < N; i++) {
      const a = 1000 + 37 * i; // client → server
      const b = 5000 + 101 * i; // server → client
      const got = await exchange(listen.listenAddress, listen.listenPort, sizedRequest(a, b));
      assert.equal(got, b, `connection ${i} got its ${b}-byte reply`);
      sumA += a;
      sumB += b;
    }
    for (const [node, reporter] of [[1, 'source'], [2, 'destination']] as const) {
      const samples = await eventually(async () => {
        const s = await scrape(mesh, node);
        return total(s, 'istio_tcp_connections_closed_total', { reporter }) === N ? s : undefined;
      }, 10_000, `${N} closed connections on node-${node}`);
      const want = expectedLabels(reporter);
      const metrics = {
        istio_tcp_connections_opened_total: N,
        istio_tcp_connections_closed_total: N,
        istio_tcp_received_bytes_total: sumA,
        istio_tcp_sent_bytes_total: sumB,
      };
      for (const [name, value] of Object.entries(metrics)) {
        const series = select(samples, name, { reporter });
        assert.equal(series.length, 1, `one ${name} series on node-${node}: ${JSON.stringify(series)}`);
        assert.deepEqual(series[0]!.labels, want, `${name} labels (values and order) on node-${node}`);
        assert.equal(series[0]!.value, value, `${name} on node-${node}`);
      }
      assert.equal(select(samples, 'istio_tcp_connections_failed_total').length, 0, 'no failures');
    }
  } finally {
    await env.stop();
  }
});
