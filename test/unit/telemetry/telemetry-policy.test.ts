import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { Resource } from '../../../src/api/types.js';
import { tcpLabels } from '../../../src/dataplane/telemetry/labels.js';
import { TcpMetrics } from '../../../src/dataplane/telemetry/metrics.js';
import { ConnectionTracker } from '../../../src/dataplane/telemetry/connection-tracker.js';
import { renderMetrics } from '../../../src/dataplane/telemetry/exposition.js';
import { applyPolicy, parseDuration, resolveMetricsPolicy } from '../../../src/dataplane/telemetry/telemetry-policy.js';
import { productpage, ratings, ratingsService } from './fixtures.js';

let clock = 0;
function telemetry(namespace: string, name: string, spec: Record<string, unknown>): Resource {
  clock++;
  return {
    apiVersion: 'telemetry.istio.io/v1',
    kind: 'Telemetry',
    metadata: { name, namespace, creationTimestamp: `2024-01-01T00:00:${String(clock).padStart(2, '0')}Z` },
    spec,
  };
}
const ratingsWorkload = { namespace: 'default', labels: { app: 'ratings', version: 'v2' } };

test('parseDuration reads protobuf/Go durations', () => {
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('100ms'), 100);
  assert.equal(parseDuration('1m'), 60000);
  assert.equal(parseDuration('1m30s'), 90000);
  assert.equal(parseDuration('0.5s'), 500);
  assert.throws(() => parseDuration('5'), { code: 'L4MESH_ERR_CONFIG' });
  assert.throws(() => parseDuration('soon'), { code: 'L4MESH_ERR_CONFIG' });
});

test('workload selector beats namespace beats root namespace, per tag and per interval', () => {
  const root = telemetry('istio-system', 'mesh-default', {
    metrics: [{
      reportingInterval: '30s',
      overrides: [{ match: { metric: 'ALL_METRICS' }, tagOverrides: { source_cluster: { operation: 'REMOVE' }, team: { value: 'mesh' } } }],
    }],
  });
  const ns = telemetry('default', 'ns-default', {
    metrics: [{ reportingInterval: '10s', overrides: [{ match: { metric: 'TCP_OPENED_CONNECTIONS' }, tagOverrides: { team: { value: 'bookinfo' } } }] }],
  });
  const wl = telemetry('default', 'ratings-only', {
    selector: { matchLabels: { app: 'ratings' } },
    metrics: [{ reportingInterval: '2s', overrides: [{ match: { metric: 'TCP_OPENED_CONNECTIONS', mode: 'SERVER' }, tagOverrides: { team: { operation: 'UPSERT', value: 'ratings' } } }] }],
  });
  const other = telemetry('other', 'elsewhere', { metrics: [{ reportingInterval: '1s' }] });
  const all = [wl, other, ns, root];

  const server = resolveMetricsPolicy(all, ratingsWorkload, 'SERVER');
  assert.equal(server.reportingIntervalMs, 2000);
  assert.deepEqual([...server.tagOverrides.get('istio_tcp_connections_opened_total')!], [
    ['source_cluster', { remove: true }],
    ['team', { value: 'ratings' }],
  ]);
  assert.deepEqual([...server.tagOverrides.get('istio_tcp_sent_bytes_total')!], [
    ['source_cluster', { remove: true }],
    ['team', { value: 'mesh' }],
  ]);
  const client = resolveMetricsPolicy(all, ratingsWorkload, 'CLIENT');
  assert.deepEqual(client.tagOverrides.get('istio_tcp_connections_opened_total')!.get('team'), { value: 'bookinfo' });
  const productpagePolicy = resolveMetricsPolicy(all, { namespace: 'default', labels: { app: 'productpage' } }, 'SERVER');
  assert.equal(productpagePolicy.reportingIntervalMs, 10000);
  const rootOnly = resolveMetricsPolicy(all, { namespace: 'foo', labels: {} }, 'SERVER');
  assert.equal(rootOnly.reportingIntervalMs, 30000);
  assert.deepEqual(resolveMetricsPolicy([], ratingsWorkload, 'SERVER'), { disabled: new Set(), tagOverrides: new Map() });
});

test('REMOVE drops the label from the output, UPSERT adds a literal value, disabled metrics vanish', async () => {
  const policy = resolveMetricsPolicy([
    telemetry('istio-system', 'default', {
      metrics: [{
        providers: [{ name: 'prometheus' }],
        overrides: [
          { match: { metric: 'TCP_OPENED_CONNECTIONS', mode: 'CLIENT_AND_SERVER' }, tagOverrides: {
            source_principal: { operation: 'REMOVE' },
            destination_principal: { operation: 'REMOVE' },
            request_protocol: { value: 'request.protocol' },
            zone: { operation: 'UPSERT', value: 'eu-1' },
          } },
          { match: { metric: 'TCP_SENT_BYTES' }, disabled: true },
        ],
      }],
    }),
  ], ratingsWorkload, 'SERVER');
  assert.deepEqual([...policy.disabled], ['istio_tcp_sent_bytes_total']);

  const registry = new Registry();
  const tracker = new ConnectionTracker(new TcpMetrics(registry), { policy });
  const stats = { received: 5, sent: 9 };
  const labels = tcpLabels({ reporter: 'destination', source: productpage, destination: ratings, service: ratingsService, securityPolicy: 'mutual_tls' });
  tracker.close(tracker.open(labels, stats));
  const lines = (await renderMetrics([registry], 'prometheus')).split('\n');

  const opened = lines.find((l) => l.startsWith('istio_tcp_connections_opened_total{'))!;
  assert.equal(
    opened,
    'istio_tcp_connections_opened_total{reporter="destination",source_workload="productpage-v1",source_canonical_service="productpage",' +
      'source_canonical_revision="v1",source_workload_namespace="default",source_app="productpage",source_version="v1",' +
      'source_cluster="Kubernetes",destination_service="ratings.default.svc.cluster.local",destination_service_namespace="default",' +
      'destination_service_name="ratings",destination_workload="ratings-v2",destination_canonical_service="ratings",' +
      'destination_canonical_revision="v2",destination_workload_namespace="default",destination_app="ratings",destination_version="v2",' +
      'destination_cluster="Kubernetes",request_protocol="request.protocol",response_flags="-",connection_security_policy="mutual_tls",zone="eu-1"} 1',
  );
  // Other metrics keep the full label set.
  assert.match(lines.find((l) => l.startsWith('istio_tcp_connections_closed_total{'))!, /source_principal="spiffe:\/\/cluster.local\/ns\/default\/sa\/bookinfo-productpage"/);
  assert.match(lines.find((l) => l.startsWith('istio_tcp_received_bytes_total{'))!, /\} 5$/);
  assert.equal(lines.filter((l) => l.startsWith('istio_tcp_sent_bytes_total{')).length, 0);
  tracker.close();
});

test('ALL_METRICS disabled turns everything off for its mode; a later override turns reporting back on', () => {
  const root = telemetry('istio-system', 'off', { metrics: [{ overrides: [{ match: { metric: 'ALL_METRICS', mode: 'CLIENT' }, disabled: true }] }] });
  assert.equal(resolveMetricsPolicy([root], ratingsWorkload, 'CLIENT').disabled.size, 9);
  assert.equal(resolveMetricsPolicy([root], ratingsWorkload, 'SERVER').disabled.size, 0);
  const ns = telemetry('default', 'on', { metrics: [{ overrides: [{ match: { metric: 'TCP_OPENED_CONNECTIONS' }, disabled: false }] }] });
  assert.equal(resolveMetricsPolicy([root, ns], ratingsWorkload, 'CLIENT').disabled.size, 0);
});

test('applyPolicy returns the same object when a metric has no overrides; other providers are ignored', () => {
  const labels = tcpLabels({ reporter: 'source', securityPolicy: 'unknown' });
  const policy = resolveMetricsPolicy([
    telemetry('istio-system', 'sd', { metrics: [{ providers: [{ name: 'stackdriver' }], overrides: [{ disabled: true }] }] }),
  ], ratingsWorkload, 'CLIENT');
  assert.equal(policy.disabled.size, 0);
  assert.equal(applyPolicy(labels, 'istio_tcp_connections_opened_total', policy), labels);
});

test('an invalid reportingInterval names the Telemetry and field', () => {
  const bad = telemetry('default', 'bad', { metrics: [{ reportingInterval: 'often' }] });
  assert.throws(() => resolveMetricsPolicy([bad], ratingsWorkload, 'SERVER'), {
    code: 'L4MESH_ERR_INVALID_RESOURCE',
    message: /^Telemetry default\/bad: spec\.metrics\[0\]\.reportingInterval: invalid duration "often"/,
  });
});
