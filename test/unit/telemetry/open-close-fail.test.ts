import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { tcpLabels } from '../../../src/dataplane/telemetry/labels.js';
import { TcpMetrics } from '../../../src/dataplane/telemetry/metrics.js';
import { ConnectionTracker } from '../../../src/dataplane/telemetry/connection-tracker.js';
import { productpage, ratings, ratingsService } from './fixtures.js';

async function series(registry: Registry, name: string) {
  return (await registry.getMetricsAsJSON()).find((x) => x.name === name)!.values.map((v) => ({ labels: { ...v.labels }, value: v.value }));
}

test('opened and closed series of a connection carry identical labels', async () => {
  const registry = new Registry();
  const tracker = new ConnectionTracker(new TcpMetrics(registry));
  const labels = tcpLabels({ reporter: 'destination', source: productpage, destination: ratings, service: ratingsService, securityPolicy: 'mutual_tls' });
  const conn = tracker.open(labels, { received: 0, sent: 0 });
  assert.equal(tracker.openConnections, 1);
  assert.deepEqual(await series(registry, 'istio_tcp_connections_closed_total'), []);
  // What closed reports cannot change after open: the labels are frozen (a write throws in strict code).
  assert.equal(Object.isFrozen(labels), true);
  assert.throws(() => ((labels as Record<string, string>).response_flags = 'CONNECT'), TypeError);
  tracker.close(conn);
  tracker.close(conn);
  const opened = await series(registry, 'istio_tcp_connections_opened_total');
  const closed = await series(registry, 'istio_tcp_connections_closed_total');
  assert.equal(opened.length, 1);
  assert.deepEqual(closed, opened);
  assert.equal(opened[0]!.labels.response_flags, '-');
  assert.equal(tracker.openConnections, 0);
  tracker.close();
});

test('a failed connection counts in connections_failed_total with its response flags', async () => {
  const registry = new Registry();
  const tracker = new ConnectionTracker(new TcpMetrics(registry));
  const base = { reporter: 'source' as const, source: productpage, service: ratingsService, securityPolicy: 'unknown' as const };
  tracker.fail(tcpLabels({ ...base, responseFlags: 'DENY' }));
  tracker.fail(tcpLabels({ ...base, responseFlags: 'DENY' }));
  tracker.fail(tcpLabels({ ...base, responseFlags: 'CONNECT' }));
  const failed = await series(registry, 'istio_tcp_connections_failed_total');
  assert.deepEqual(failed.map((s) => [s.labels.response_flags, s.value]), [['DENY', 2], ['CONNECT', 1]]);
  assert.equal(failed[0]!.labels.destination_workload, 'unknown');
  assert.deepEqual(await series(registry, 'istio_tcp_connections_opened_total'), []);
  tracker.close();
});
