import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TCP_LABEL_NAMES, tcpLabels } from '../../../src/dataplane/telemetry/labels.js';
import { productpage, ratings, ratingsService, workload } from './fixtures.js';

test('TCP_LABEL_NAMES lists the 23 Istio labels in DESIGN order', () => {
  assert.deepEqual([...TCP_LABEL_NAMES], [
    'reporter', 'source_workload', 'source_canonical_service', 'source_canonical_revision', 'source_workload_namespace',
    'source_principal', 'source_app', 'source_version', 'source_cluster', 'destination_service',
    'destination_service_namespace', 'destination_service_name', 'destination_workload', 'destination_canonical_service',
    'destination_canonical_revision', 'destination_workload_namespace', 'destination_principal', 'destination_app',
    'destination_version', 'destination_cluster', 'request_protocol', 'response_flags', 'connection_security_policy',
  ]);
});

test('a fully known connection fills every label, keys in label order', () => {
  const l = tcpLabels({ reporter: 'destination', source: productpage, destination: ratings, service: ratingsService, securityPolicy: 'mutual_tls' });
  assert.deepEqual(Object.keys(l), [...TCP_LABEL_NAMES]);
  assert.deepEqual(l, {
    reporter: 'destination',
    source_workload: 'productpage-v1',
    source_canonical_service: 'productpage',
    source_canonical_revision: 'v1',
    source_workload_namespace: 'default',
    source_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage',
    source_app: 'productpage',
    source_version: 'v1',
    source_cluster: 'Kubernetes',
    destination_service: 'ratings.default.svc.cluster.local',
    destination_service_namespace: 'default',
    destination_service_name: 'ratings',
    destination_workload: 'ratings-v2',
    destination_canonical_service: 'ratings',
    destination_canonical_revision: 'v2',
    destination_workload_namespace: 'default',
    destination_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings',
    destination_app: 'ratings',
    destination_version: 'v2',
    destination_cluster: 'Kubernetes',
    request_protocol: 'tcp',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
  });
});

test('unknown peers are "unknown", revisions "latest", flags "-"', () => {
  const l = tcpLabels({ reporter: 'source', securityPolicy: 'unknown' });
  assert.deepEqual(Object.keys(l), [...TCP_LABEL_NAMES]);
  const expected: Record<string, string> = {};
  for (const n of TCP_LABEL_NAMES) expected[n] = 'unknown';
  Object.assign(expected, {
    reporter: 'source',
    source_canonical_revision: 'latest',
    destination_canonical_revision: 'latest',
    request_protocol: 'tcp',
    response_flags: '-',
    connection_security_policy: 'unknown',
  });
  assert.deepEqual(l, expected);
});

test('handshake identities win over derived ones; missing app/version labels and revision fall back', () => {
  const bare = workload('reviews-v3', 'bookinfo', { labels: {}, canonicalRevision: '' });
  const l = tcpLabels({
    reporter: 'waypoint',
    source: bare,
    sourceIdentity: 'spiffe://example.org/ns/bookinfo/sa/other',
    destinationIdentity: 'spiffe://example.org/ns/x/sa/y',
    responseFlags: 'DENY',
    securityPolicy: 'none',
  });
  assert.equal(l.source_principal, 'spiffe://example.org/ns/bookinfo/sa/other');
  assert.equal(l.destination_principal, 'spiffe://example.org/ns/x/sa/y');
  assert.equal(l.source_app, 'unknown');
  assert.equal(l.source_version, 'unknown');
  assert.equal(l.source_canonical_revision, 'latest');
  assert.equal(l.source_workload, 'reviews-v3');
  assert.equal(l.response_flags, 'DENY');
  assert.equal(l.reporter, 'waypoint');
  assert.equal(l.connection_security_policy, 'none');
});
