import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { tcpLabels } from '../../../src/dataplane/telemetry/labels.js';
import { TcpMetrics } from '../../../src/dataplane/telemetry/metrics.js';
import { ConnectionTracker, DEFAULT_TCP_REPORTING_DURATION_MS } from '../../../src/dataplane/telemetry/connection-tracker.js';
import { productpage, ratings, ratingsService } from './fixtures.js';

async function counter(registry: Registry, name: string): Promise<number | undefined> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return m?.values[0]?.value;
}

const labels = tcpLabels({ reporter: 'source', source: productpage, destination: ratings, service: ratingsService, securityPolicy: 'unknown' });

test('bytes reach the counters only at flushes, as exact deltas', async () => {
  const registry = new Registry();
  const tracker = new ConnectionTracker(new TcpMetrics(registry));
  assert.equal(tracker.reportingIntervalMs, DEFAULT_TCP_REPORTING_DURATION_MS);
  assert.equal(DEFAULT_TCP_REPORTING_DURATION_MS, 15_000);
  const stats = { received: 0, sent: 0 };
  const conn = tracker.open(labels, stats);
  const steps: Array<[number, number]> = [[100, 10], [250, 4000], [1, 0]];
  let [rx, tx] = [0, 0];
  for (const [r, s] of steps) {
    stats.received += r;
    stats.sent += s;
    assert.equal(await counter(registry, 'istio_tcp_received_bytes_total'), rx === 0 ? undefined : rx, 'unchanged before the flush');
    tracker.flushNow();
    rx += r;
    tx += s;
    assert.equal(await counter(registry, 'istio_tcp_received_bytes_total'), rx);
    assert.equal(await counter(registry, 'istio_tcp_sent_bytes_total'), tx);
  }
  stats.received += 7;
  tracker.close(conn);
  assert.equal(await counter(registry, 'istio_tcp_received_bytes_total'), 358);
  assert.equal(await counter(registry, 'istio_tcp_sent_bytes_total'), 4010);
  tracker.close();
});

test('the interval timer flushes on its own, and setReportingInterval applies without restart', async () => {
  const registry = new Registry();
  const tracker = new ConnectionTracker(new TcpMetrics(registry), { reportingIntervalMs: 60_000 });
  const stats = { received: 0, sent: 0 };
  tracker.open(labels, stats);
  tracker.setReportingInterval(50);
  const seen: number[] = [];
  for (let i = 1; i <= 3; i++) {
    stats.received += 1000;
    const deadline = Date.now() + 2000;
    while (((await counter(registry, 'istio_tcp_received_bytes_total')) ?? 0) < i * 1000 && Date.now() < deadline) await sleep(10);
    seen.push((await counter(registry, 'istio_tcp_received_bytes_total')) ?? 0);
  }
  assert.deepEqual(seen, [1000, 2000, 3000]);
  tracker.close();
});

test('an invalid interval is refused with L4MESH_ERR_CONFIG', () => {
  const tracker = new ConnectionTracker(new TcpMetrics(new Registry()));
  assert.throws(() => tracker.setReportingInterval(0), { code: 'L4MESH_ERR_CONFIG' });
  tracker.close();
});
