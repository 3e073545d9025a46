// The node proxy's TelemetryConfig: per-workload policy (CLIENT for source, SERVER for destination),
// cache invalidated by xDS updates, one reporting interval for the proxy, and series expiry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { MeshSnapshot, MeshTelemetry, MeshWorkload } from '../../../src/api/mesh.js';
import { ConnectionTracker } from '../../../src/dataplane/telemetry/connection-tracker.js';
import { TcpMetrics } from '../../../src/dataplane/telemetry/metrics.js';
import { tcpLabels } from '../../../src/dataplane/telemetry/labels.js';
import { Logger } from '../../../src/logging/logger.js';
import { TelemetryConfig } from '../../../src/dataplane/telemetry/telemetry-config.js';
import { productpage, ratings, ratingsService } from './fixtures.js';

function telemetry(name: string, namespace: string, spec: Partial<MeshTelemetry> = {}): MeshTelemetry {
  return { name, namespace, creationTimestamp: '2024-01-01T00:00:00Z', selector: {}, metrics: [], ...spec };
}

function snapshotWith(ts: MeshTelemetry[]): MeshSnapshot {
  return { workloads: new Map(), services: new Map(), authorizations: new Map(), telemetries: new Map(ts.map((t) => [`${t.namespace}/${t.name}`, t])) };
}

function setup(local: MeshWorkload[], all: MeshWorkload[] = local, now = () => 0) {
  const metrics = new TcpMetrics(new Registry(), { now });
  const tracker = new ConnectionTracker(metrics, { reportingIntervalMs: 15_000 });
  const log = new Logger('test', 'error', () => {});
  const config = new TelemetryConfig({ tracker, metrics, localWorkloads: () => local, allWorkloads: () => all, defaultIntervalMs: 15_000, expiryGraceMs: 1000, log });
  return { metrics, tracker, config, stop: () => (config.stop(), tracker.close()) };
}

test('source connections use the source workload CLIENT policy, destination ones the destination SERVER policy; updates invalidate', () => {
  const { config, stop } = setup([productpage, ratings]);
  try {
    config.update(
      snapshotWith([
        telemetry('mesh', 'istio-system', {
          metrics: [{ providers: [], overrides: [{ match: { metric: 'TCP_SENT_BYTES', mode: 'CLIENT' }, disabled: true, tagOverrides: {} }] }],
        }),
        telemetry('ratings', 'default', {
          selector: { app: 'ratings' },
          metrics: [{ providers: [], overrides: [{ match: { mode: 'SERVER' }, tagOverrides: { source_app: { operation: 'REMOVE' } } }] }],
        }),
      ]),
    );
    const client = config.policyFor({ reporter: 'source', source: productpage, destination: ratings });
    assert.deepEqual([...client.disabled], ['istio_tcp_sent_bytes_total']);
    assert.equal(client.tagOverrides.size, 0);
    const server = config.policyFor({ reporter: 'destination', source: productpage, destination: ratings });
    assert.deepEqual([...server.disabled], []);
    assert.deepEqual(server.tagOverrides.get('istio_tcp_connections_opened_total')?.get('source_app'), { remove: true });
    // Cached per workload and mode until the next update.
    assert.equal(config.policyFor({ reporter: 'source', source: productpage }), client);
    config.update(snapshotWith([]));
    const after = config.policyFor({ reporter: 'source', source: productpage });
    assert.notEqual(after, client);
    assert.deepEqual([...after.disabled], []);
  } finally {
    stop();
  }
});

test('the proxy interval is the smallest that applies to a local workload; Telemetry overrides the flag; deletion restores it', () => {
  const { tracker, config, stop } = setup([productpage, ratings]);
  try {
    assert.equal(tracker.reportingIntervalMs, 15_000);
    config.update(snapshotWith([telemetry('mesh', 'istio-system', { metrics: [{ providers: [], overrides: [], reportingInterval: '30s' }] })]));
    assert.equal(tracker.reportingIntervalMs, 30_000, 'a longer Telemetry interval overrides the proxy default');
    config.update(
      snapshotWith([
        telemetry('mesh', 'istio-system', { metrics: [{ providers: [], overrides: [], reportingInterval: '30s' }] }),
        telemetry('ratings', 'default', { selector: { app: 'ratings' }, metrics: [{ providers: [], overrides: [], reportingInterval: '2s' }] }),
      ]),
    );
    assert.equal(tracker.reportingIntervalMs, 2000);
    config.update(snapshotWith([telemetry('ratings', 'default', { selector: { app: 'ratings' }, metrics: [{ providers: [], overrides: [], reportingInterval: '2s' }] })]));
    assert.equal(tracker.reportingIntervalMs, 2000, 'ratings 2s; productpage keeps the 15s default; the smaller wins');
    config.update(snapshotWith([]));
    assert.equal(tracker.reportingIntervalMs, 15_000);
  } finally {
    stop();
  }
});

test('series of a workload that left the mesh expire after the grace, not before, and never while open', () => {
  let now = 0;
  const { metrics, tracker, config, stop } = setup([productpage], [productpage, ratings], () => now);
  try {
    const labels = tcpLabels({ reporter: 'source', source: productpage, destination: ratings, service: ratingsService, securityPolicy: 'unknown' });
    const conn = tracker.open(labels, { received: 5, sent: 7 });
    tracker.close(conn);
    const open = tracker.open(labels, { received: 0, sent: 0 });
    assert.equal(metrics.seriesCount('opened'), 1);
    // ratings leaves: this config sees only productpage from now on.
    const leaving = new TelemetryConfig({ tracker, metrics, localWorkloads: () => [productpage], allWorkloads: () => [productpage], defaultIntervalMs: 15_000, expiryGraceMs: 1000, log: new Logger('t', 'error', () => {}) });
    leaving.connectionOpened(labels);
    now = 5000;
    assert.equal(leaving.expire(), 0, 'an open connection keeps every series of its peers');
    tracker.close(open);
    leaving.connectionClosed(labels);
    now = 5500;
    // opened/sent/received last changed at t=0 (past the grace); closed changed at t=5000 (within it).
    assert.equal(leaving.expire(), 3);
    assert.equal(metrics.seriesCount('closed'), 1);
    now = 6001;
    assert.equal(leaving.expire(), 1);
    assert.equal(metrics.seriesCount('opened'), 0);
    assert.equal(config.expire(), 0);
    leaving.stop();
  } finally {
    stop();
  }
});
