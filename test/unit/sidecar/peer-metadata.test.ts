// Mesh workload ↔ istio-peer-exchange metadata: what a proxy announces, and the labels a peer's
// announcement yields (canonical name/revision and app/version from LABELS, identity, cluster).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshWorkload } from '../../../src/api/mesh.js';
import { tcpLabels } from '../../../src/dataplane/telemetry/labels.js';
import { peerMetadataOf, workloadFromPeerMetadata } from '../../../src/dataplane/mx/peer-metadata.js';

const RATINGS: MeshWorkload = {
  uid: 'Kubernetes//Pod/bookinfo/ratings-v2-5c8f6d9b7-x7k2p',
  name: 'ratings-v2-5c8f6d9b7-x7k2p',
  namespace: 'bookinfo',
  addresses: ['127.1.0.7'],
  hostname: '',
  network: '',
  tunnelProtocol: 'LEGACY_ISTIO_MTLS',
  trustDomain: 'cluster.local',
  serviceAccount: 'bookinfo-ratings',
  node: 'node-2',
  canonicalName: 'ratings',
  canonicalRevision: 'v2',
  workloadType: 'DEPLOYMENT',
  workloadName: 'ratings-v2',
  services: {},
  authorizationPolicies: [],
  status: 'HEALTHY',
  clusterId: 'Kubernetes',
  capacity: 1,
  labels: { app: 'ratings', version: 'v2' },
};
const ID = 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings';

test('announces names, identity, owner and labels with the canonical service spelled out', () => {
  assert.deepEqual(peerMetadataOf(RATINGS, ID), {
    name: 'ratings-v2-5c8f6d9b7-x7k2p',
    namespace: 'bookinfo',
    workloadName: 'ratings-v2',
    clusterId: 'Kubernetes',
    identity: ID,
    owner: 'kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/ratings-v2',
    labels: { app: 'ratings', version: 'v2', 'service.istio.io/canonical-name': 'ratings', 'service.istio.io/canonical-revision': 'v2' },
  });
});

test('--label values go on top of the registry\'s', () => {
  assert.deepEqual(peerMetadataOf(RATINGS, ID, { version: 'v-wire', team: 'a' }).labels, {
    app: 'ratings',
    version: 'v-wire',
    'service.istio.io/canonical-name': 'ratings',
    'service.istio.io/canonical-revision': 'v2',
    team: 'a',
  });
});

test('a peer\'s announcement gives the same source labels as the registry workload it describes', () => {
  const fromWire = workloadFromPeerMetadata(peerMetadataOf(RATINGS, ID));
  assert.deepEqual((tcpLabels({ reporter: 'destination', source: fromWire, securityPolicy: 'mutual_tls' })), tcpLabels({ reporter: 'destination', source: RATINGS, securityPolicy: 'mutual_tls' }));
  assert.equal(fromWire.serviceAccount, 'bookinfo-ratings');
  assert.equal(fromWire.trustDomain, 'cluster.local');
});

test('a minimal announcement: canonical name falls back to the workload name, revision to latest, the rest unknown', () => {
  const w = workloadFromPeerMetadata({ name: 'pod-1', namespace: 'ns', workloadName: '', clusterId: '', labels: { 'unrelated/label': 'x' } });
  const labels = tcpLabels({ reporter: 'destination', source: w, securityPolicy: 'mutual_tls' });
  assert.deepEqual(
    [labels.source_workload, labels.source_canonical_service, labels.source_canonical_revision, labels.source_app, labels.source_version, labels.source_cluster, labels.source_principal],
    ['pod-1', 'pod-1', 'latest', 'unknown', 'unknown', 'unknown', 'unknown'],
  );
  assert.deepEqual(w.labels, {});
});

test('one metadata object yields one frozen workload, shared by every connection from that peer', () => {
  const meta = peerMetadataOf(RATINGS, 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings');
  const a = workloadFromPeerMetadata(meta);
  assert.equal(workloadFromPeerMetadata(meta), a);
  assert.ok(Object.isFrozen(a));
  assert.equal(a.uid, 'peer-metadata//bookinfo/ratings-v2-5c8f6d9b7-x7k2p');
  assert.notEqual(workloadFromPeerMetadata({ ...meta }), a, 'another object is described afresh');
});
