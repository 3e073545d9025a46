import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { tcpLabels } from '../../../src/dataplane/telemetry/labels.js';
import { DEFAULT_SERIES_EXPIRY_GRACE_MS, TcpMetrics } from '../../../src/dataplane/telemetry/metrics.js';
import { ConnectionTracker } from '../../../src/dataplane/telemetry/connection-tracker.js';
import { productpage, ratings, ratingsService, workload } from './fixtures.js';

test('series of departed workloads expire after the grace period unless a connection holds them', () => {
  let now = 1_000_000;
  const metrics = new TcpMetrics(new Registry(), { now: () => now });
  const tracker = new ConnectionTracker(metrics);
  const reviews = workload('reviews-v1', 'default');
  const toRatings = tcpLabels({ reporter: 'source', source: productpage, destination: ratings, service: ratingsService, securityPolicy: 'unknown' });
  const toReviews = tcpLabels({ reporter: 'source', source: productpage, destination: reviews, securityPolicy: 'unknown' });
  const unknownPeer = tcpLabels({ reporter: 'destination', securityPolicy: 'none' });

  const stats = { received: 10, sent: 10 };
  tracker.close(tracker.open(toRatings, stats));
  const held = tracker.open(toReviews, { received: 1, sent: 0 });
  tracker.close(tracker.open(unknownPeer, { received: 0, sent: 0 }));
  tracker.flushNow();
  assert.equal(metrics.seriesCount('opened'), 3);

  // Only productpage is still in the mesh.
  const inMesh = new Set(['default/productpage-v1']);
  const isKnown = (name: string, ns: string) => inMesh.has(`${ns}/${name}`);

  now += DEFAULT_SERIES_EXPIRY_GRACE_MS - 1;
  assert.equal(metrics.expire({ isKnown }), 0, 'within the grace period');
  now += 1;
  // ratings' opened, closed, sent, received go; reviews is held open; unknown peers never expire.
  assert.equal(metrics.expire({ isKnown }), 4);
  assert.equal(metrics.seriesCount('opened'), 2);
  assert.equal(metrics.seriesCount('sent'), 0);
  assert.equal(metrics.seriesCount('received'), 1);

  tracker.close(held);
  now += 1000;
  assert.equal(metrics.expire({ isKnown, graceMs: 1000 }), 3);
  assert.equal(metrics.seriesCount('opened'), 1);
  assert.equal(metrics.seriesCount('closed'), 1);
  tracker.close();
});
