import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { tcpLabels } from '../../../src/dataplane/telemetry/labels.js';
import { TcpMetrics } from '../../../src/dataplane/telemetry/metrics.js';
import { renderMetrics } from '../../../src/dataplane/telemetry/exposition.js';
import { labelText, productpage, ratings, ratingsService } from './fixtures.js';

const EXPECTED_LABELS =
  '{reporter="destination",source_workload="productpage-v1",source_canonical_service="productpage",' +
  'source_canonical_revision="v1",source_workload_namespace="default",' +
  'source_principal="spiffe://cluster.local/ns/default/sa/bookinfo-productpage",source_app="productpage",' +
  'source_version="v1",source_cluster="Kubernetes",destination_service="ratings.default.svc.cluster.local",' +
  'destination_service_namespace="default",destination_service_name="ratings",destination_workload="ratings-v2",' +
  'destination_canonical_service="ratings",destination_canonical_revision="v2",destination_workload_namespace="default",' +
  'destination_principal="spiffe://cluster.local/ns/default/sa/bookinfo-ratings",destination_app="ratings",' +
  'destination_version="v2",destination_cluster="Kubernetes",request_protocol="tcp",response_flags="-",' +
  'connection_security_policy="mutual_tls"}';

test('a scrape prints exact istio_tcp_* lines with labels in DESIGN order', async () => {
  const registry = new Registry();
  const metrics = new TcpMetrics(registry);
  const labels = tcpLabels({ reporter: 'destination', source: productpage, destination: ratings, service: ratingsService, securityPolicy: 'mutual_tls' });
  assert.equal(labelText(labels), EXPECTED_LABELS);
  const b = metrics.bind(labels);
  b.add('opened', 1);
  b.add('received', 120);
  b.add('sent', 4096);
  b.add('closed', 1);
  b.release();

  const text = await renderMetrics([registry], 'prometheus');
  assert.equal(
    text,
    [
      '# HELP istio_tcp_connections_opened_total The total number of TCP connections opened',
      '# TYPE istio_tcp_connections_opened_total counter',
      `istio_tcp_connections_opened_total${EXPECTED_LABELS} 1`,
      '# HELP istio_tcp_connections_closed_total The total number of TCP connections closed',
      '# TYPE istio_tcp_connections_closed_total counter',
      `istio_tcp_connections_closed_total${EXPECTED_LABELS} 1`,
      '# HELP istio_tcp_sent_bytes_total The size of total bytes sent during response in case of a TCP connection',
      '# TYPE istio_tcp_sent_bytes_total counter',
      `istio_tcp_sent_bytes_total${EXPECTED_LABELS} 4096`,
      '# HELP istio_tcp_received_bytes_total The size of total bytes received during request in case of a TCP connection',
      '# TYPE istio_tcp_received_bytes_total counter',
      `istio_tcp_received_bytes_total${EXPECTED_LABELS} 120`,
      '# HELP istio_tcp_connections_failed_total The total number of TCP connections that failed before any byte was forwarded',
      '# TYPE istio_tcp_connections_failed_total counter',
      '',
    ].join('\n'),
  );
});

test('an OpenMetrics render does not rename counters for later Prometheus-text scrapes', async () => {
  const registry = new Registry();
  const metrics = new TcpMetrics(registry);
  const b = metrics.bind(tcpLabels({ reporter: 'source', securityPolicy: 'unknown' }));
  b.add('opened', 1);
  const open = await renderMetrics([registry], 'openmetrics');
  assert.match(open, /^# TYPE istio_tcp_connections_opened counter$/m);
  assert.match(open, /^istio_tcp_connections_opened_total\{reporter="source",.*\} 1$/m);
  assert.ok(open.endsWith('\n# EOF\n'));
  const text = await renderMetrics([registry], 'prometheus');
  assert.match(text, /^# TYPE istio_tcp_connections_opened_total counter$/m);
  assert.match(text, /^istio_tcp_connections_opened_total\{reporter="source",.*\} 1$/m);
  // prom-client's own text output agrees on the name and label order.
  assert.equal((await registry.metrics()).split('\n').find((l) => l.startsWith('istio_tcp_connections_opened_total{')),
    text.split('\n').find((l) => l.startsWith('istio_tcp_connections_opened_total{')));
});
