// What the console's pages and details panel show, from a fixed /debug/registryz and node-proxy certificates:
// each policy with the workloads it selects, a workload's pods with identity and certificate, services with
// their endpoints, and node proxies drawn as graph nodes carrying their workloads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withNodeProxies, type Graph } from '../../../src/console/graph.js';
import { podsOf, policiesOf, servicesOf, type Registryz } from '../../../src/console/mesh-views.js';
import { namesPod } from '../../../src/console/proxy-views.js';
import type { CertificateDump } from '../../../src/localrun/node-admin.js';

const pod = (ns: string, name: string, workloadName: string, node: string, ip: string, sa: string, labels: Record<string, string>, policies: string[] = []) => ({
  uid: `Kubernetes//Pod/${ns}/${name}`,
  namespace: ns,
  name,
  workloadName,
  node,
  addresses: [ip],
  serviceAccount: sa,
  trustDomain: 'cluster.local',
  status: 'HEALTHY' as const,
  labels,
  authorizationPolicies: policies,
});

const REGISTRY: Registryz = {
  workloads: [
    pod('default', 'ratings-v2-abc', 'ratings-v2', 'node-2', '127.1.0.9', 'bookinfo-ratings', { app: 'ratings', version: 'v2' }, ['default/ratings-allow']),
    pod('default', 'postgres-v1-xyz', 'postgres-v1', 'node-1', '127.1.0.4', 'postgres', { app: 'postgres' }),
    pod('shop', 'cart-v1-q', 'cart-v1', 'node-1', '127.1.0.20', 'default', { app: 'cart' }),
  ],
  services: [
    {
      name: 'postgres',
      namespace: 'default',
      hostname: 'postgres.default.svc.cluster.local',
      addresses: ['127.1.3.7'],
      ports: [{ servicePort: 5432, targetPort: 5432 }],
      endpoints: [{ name: 'postgres-v1-xyz', namespace: 'default', addresses: ['127.1.0.4'], node: 'node-1', status: 'HEALTHY' }],
    },
  ],
  policies: [
    { name: 'ratings-allow', namespace: 'default', scope: 'WORKLOAD_SELECTOR', action: 'ALLOW', rules: [] },
    { name: 'deny-all', namespace: 'shop', scope: 'NAMESPACE', action: 'DENY', rules: [] },
    { name: 'converted_peer_authentication_strict', namespace: 'istio-system', scope: 'GLOBAL', action: 'DENY', rules: [] },
  ],
  policySources: [
    { kind: 'AuthorizationPolicy', namespace: 'default', name: 'ratings-allow', converted: 'default/ratings-allow', selector: { app: 'ratings' }, notes: [] },
    { kind: 'AuthorizationPolicy', namespace: 'shop', name: 'deny-all', converted: 'shop/deny-all', notes: [] },
    { kind: 'PeerAuthentication', namespace: 'istio-system', name: 'strict', converted: 'istio-system/converted_peer_authentication_strict', notes: [] },
    { kind: 'AuthorizationPolicy', namespace: 'default', name: 'via-waypoint', selector: { app: 'postgres' }, skipped: 'targets a waypoint', notes: ['paths need HTTP'] },
  ],
};

test('each policy lists the workloads it selects: by the control plane\'s binding, its namespace, the whole mesh, or its own selector', () => {
  assert.deepEqual(
    policiesOf(REGISTRY).map((p) => [p.namespace, p.kind, p.name, p.action, p.scope, p.skipped, p.selects]),
    [
      ['default', 'AuthorizationPolicy', 'ratings-allow', 'ALLOW', 'WORKLOAD_SELECTOR', null, ['default/ratings-v2']],
      ['default', 'AuthorizationPolicy', 'via-waypoint', null, null, 'targets a waypoint', ['default/postgres-v1']],
      ['istio-system', 'PeerAuthentication', 'strict', 'DENY', 'GLOBAL', null, ['default/postgres-v1', 'default/ratings-v2', 'shop/cart-v1']],
      ['shop', 'AuthorizationPolicy', 'deny-all', 'DENY', 'NAMESPACE', null, ['shop/cart-v1']],
    ],
  );
});

test('a workload\'s pods carry IP, node, SPIFFE identity and the certificate its node proxy holds for it', () => {
  const cert = (identity: string, state: string): CertificateDump => ({
    identity,
    state,
    certChain: [{ pem: '', serialNumber: 'AB12', validFrom: '2026-11-29T10:00:00Z', expirationTime: '2026-11-30T10:00:00Z' }],
    rootCerts: [],
  });
  const certs = new Map([
    ['node-2', [cert('spiffe://cluster.local/ns/default/sa/bookinfo-ratings', 'Available')]],
    // The same identity on another node does not count: the pod's own node proxy holds its certificate.
    ['node-1', [cert('spiffe://cluster.local/ns/default/sa/bookinfo-ratings', 'Unavailable')]],
  ]);
  assert.deepEqual(podsOf(REGISTRY, 'default', 'ratings-v2', certs), [
    {
      name: 'ratings-v2-abc',
      addresses: ['127.1.0.9'],
      node: 'node-2',
      status: 'HEALTHY',
      identity: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings',
      certificate: { state: 'Available', serial: 'AB12', notBefore: '2026-11-29T10:00:00Z', notAfter: '2026-11-30T10:00:00Z' },
    },
  ]);
  assert.deepEqual(
    podsOf(REGISTRY, 'default', 'postgres-v1', certs).map((p) => [p.identity, p.certificate]),
    [['spiffe://cluster.local/ns/default/sa/postgres', null]],
  );
  assert.deepEqual(podsOf(REGISTRY, 'shop', 'ratings-v2', certs), []);
});

test('services list addresses, ports and endpoints with the workload each pod belongs to', () => {
  assert.deepEqual(servicesOf(REGISTRY), [
    {
      namespace: 'default',
      name: 'postgres',
      hostname: 'postgres.default.svc.cluster.local',
      addresses: ['127.1.3.7'],
      ports: ['5432→5432'],
      waypoint: null,
      endpoints: [{ pod: 'postgres-v1-xyz', workload: 'postgres-v1', node: 'node-1', status: 'HEALTHY' }],
    },
  ]);
});

test('node proxies as nodes: one per node, a carries edge to each drawn workload on it, none to workloads not drawn', () => {
  const graph: Graph = {
    seconds: 60,
    nodes: [
      { id: 'ns:default', kind: 'namespace', label: 'default', namespace: 'default' },
      { id: 'wl:default/ratings-v2', kind: 'workload', label: 'ratings-v2', namespace: 'default', parent: 'ns:default' },
      { id: 'wl:default/postgres-v1', kind: 'workload', label: 'postgres-v1', namespace: 'default', parent: 'ns:default' },
    ],
    edges: [],
  };
  const g = withNodeProxies(graph, REGISTRY.workloads);
  assert.deepEqual(
    g.nodes.filter((n) => n.kind === 'proxy'),
    [
      { id: 'proxy:node-1', kind: 'proxy', label: 'ztunnel node-1' },
      { id: 'proxy:node-2', kind: 'proxy', label: 'ztunnel node-2' },
    ],
  );
  assert.deepEqual(
    g.edges.map((e) => [e.id, e.protocol, e.bytesSentPerSec]),
    [
      ['proxy:node-1->wl:default/postgres-v1', 'carries', 0],
      ['proxy:node-2->wl:default/ratings-v2', 'carries', 0],
    ],
  );
});

test('an access-log line belongs to a workload when it names one of its pods and its namespace on one side, in either log format', () => {
  const ratings = new Set(['ratings-v2-abc']);
  const postgres = new Set(['postgres-v1-xyz']);
  const text = '2026-11-29T10:00:00.000000Z\tinfo\taccess\tconnection complete\tsrc.addr=127.1.0.9:40000 src.workload="ratings-v2-abc" src.namespace="default" dst.addr=127.1.0.4:5432 dst.workload="postgres-v1-xyz" dst.namespace="default" bytes_sent=120';
  assert.deepEqual(
    [namesPod(text, 'default', ratings), namesPod(text, 'default', postgres), namesPod(text, 'shop', ratings), namesPod(text, 'default', new Set(['ratings-v2'])), namesPod(text, 'default', new Set(['abc']))],
    [true, true, false, false, false],
  );
  const json = JSON.stringify({ timestamp: 't', level: 'info', scope: 'access', message: 'connection complete', 'src.workload': 'cart-v1-q', 'src.namespace': 'shop', 'dst.workload': 'ratings-v2-abc', 'dst.namespace': 'default' });
  assert.deepEqual([namesPod(json, 'default', ratings), namesPod(json, 'shop', new Set(['cart-v1-q'])), namesPod(json, 'default', new Set(['cart-v1-q']))], [true, true, false]);
});
