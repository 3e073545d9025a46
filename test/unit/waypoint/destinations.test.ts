// Weighted destinations, DestinationRule subsets and load-balancing policies, with exact picks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshService, MeshWorkload } from '../../../src/api/mesh.js';
import type { Endpoint } from '../../../src/dataplane/state/proxy-state.js';
import { parseManifests } from '../../../src/api/manifest.js';
import { RouteTable, type CompiledRoute } from '../../../src/waypoint/route-config.js';
import { WeightedDestinationPicker } from '../../../src/waypoint/router.js';
import { PolicyBalancer, subsetEndpoints } from '../../../src/waypoint/load-balancer.js';
import { DestinationResolver } from '../../../src/waypoint/destination.js';

function workload(name: string, version: string): MeshWorkload {
  return {
    uid: `Kubernetes//Pod/default/${name}`, name, namespace: 'default', addresses: ['10.0.0.1'], hostname: '', network: '',
    tunnelProtocol: 'HBONE', trustDomain: 'cluster.local', serviceAccount: 'reviews', node: 'node-1', canonicalName: 'reviews',
    canonicalRevision: version, workloadType: 'POD', workloadName: name, services: {}, authorizationPolicies: [], status: 'HEALTHY',
    clusterId: 'Kubernetes', capacity: 1, labels: { app: 'reviews', version },
  };
}

const EPS: Endpoint[] = [
  { workload: workload('r1a', 'v1'), targetPort: 9080 },
  { workload: workload('r1b', 'v1'), targetPort: 9080 },
  { workload: workload('r2', 'v2'), targetPort: 9080 },
  { workload: workload('r3', 'v3'), targetPort: 9080 },
];
const SERVICE: MeshService = { name: 'reviews', namespace: 'default', hostname: 'reviews.default.svc.cluster.local', addresses: ['10.96.0.1'], ports: [{ servicePort: 9080, targetPort: 9080 }] };

function route(weights: number[]): CompiledRoute<unknown> {
  return { key: 'r', matches: [], destinations: weights.map((weight, i) => ({ host: SERVICE.hostname, subset: `v${i + 1}`, weight })) };
}

test('80/20 weights: exactly 800/200 of 1,000 picks, interleaved', () => {
  const picker = new WeightedDestinationPicker();
  const r = route([80, 20]);
  const counts: Record<string, number> = {};
  const first: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const s = picker.pick(r)!.subset!;
    counts[s] = (counts[s] ?? 0) + 1;
    if (i < 5) first.push(s);
  }
  assert.deepEqual(counts, { v1: 800, v2: 200 });
  assert.deepEqual(first, ['v1', 'v1', 'v2', 'v1', 'v1']);
});

test('a zero-weight destination is never picked; a lone destination always is', () => {
  const picker = new WeightedDestinationPicker();
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) seen.add(picker.pick(route([100, 0, 0]))!.subset!);
  assert.deepEqual([...seen], ['v1']);
  assert.equal(picker.pick({ key: 'one', matches: [], destinations: [{ host: 'h', weight: 0 }] })!.host, 'h');
});

test('subsets select endpoints by label', () => {
  const t = new RouteTable({
    virtualServices: [],
    destinationRules: parseManifests(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: all, labels: {}}
`),
  });
  const rule = t.destinationRule(SERVICE.hostname)!;
  assert.deepEqual(subsetEndpoints(EPS, rule.subsets.get('v1')).map((e) => e.workload.name), ['r1a', 'r1b']);
  assert.deepEqual(subsetEndpoints(EPS, rule.subsets.get('all')).map((e) => e.workload.name), ['r1a', 'r1b', 'r2', 'r3']);
});

test('ROUND_ROBIN rotates; RANDOM follows the random source; LEAST_REQUEST picks the less busy of two', () => {
  const draws = [0.1, 0.6, 0.9, 0.3];
  let i = 0;
  const lb = new PolicyBalancer(() => draws[i++ % draws.length]!);
  assert.deepEqual([0, 1, 2, 3, 4].map(() => lb.pick('k', EPS, 'ROUND_ROBIN')!.workload.name), ['r1a', 'r1b', 'r2', 'r3', 'r1a']);
  i = 0;
  // 0.1*4 → 0, 0.6*4 → 2, 0.9*4 → 3, 0.3*4 → 1
  assert.deepEqual([0, 1, 2, 3].map(() => lb.pick('k', EPS, 'RANDOM')!.workload.name), ['r1a', 'r2', 'r3', 'r1b']);
  // LEAST_REQUEST: draw 0.1 → index 0 (r1a); draw 0.6 over the other 3 → 1, shifted past 0 → 2 (r2).
  const busy = lb.begin(EPS[0]!);
  i = 0;
  assert.equal(lb.pick('k', EPS, 'LEAST_REQUEST')!.workload.name, 'r2');
  busy();
  i = 0;
  // Tie: the first drawn wins.
  assert.equal(lb.pick('k', EPS, 'LEAST_REQUEST')!.workload.name, 'r1a');
  assert.equal(lb.activeRequests(EPS[0]!.workload.uid), 0);
});

test('resolver: subset routing, subset trafficPolicy, unknown/empty subsets are 503 reasons', () => {
  const rt = new RouteTable({
    virtualServices: [],
    destinationRules: parseManifests(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
  subsets:
  - {name: v1, labels: {version: v1}, trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}}
  - {name: v4, labels: {version: v4}}
`),
  });
  assert.equal(rt.loadBalancer(SERVICE.hostname, 'v1', 9080), 'ROUND_ROBIN');
  assert.equal(rt.loadBalancer(SERVICE.hostname, 'v4', 9080), 'RANDOM');
  assert.equal(rt.loadBalancer(SERVICE.hostname, undefined, 9080), 'RANDOM');
  assert.equal(rt.loadBalancer('other.default.svc.cluster.local', undefined, 9080), 'ROUND_ROBIN');
  const resolver = new DestinationResolver({
    state: { serviceByHostname: (h: string) => (h === SERVICE.hostname ? SERVICE : undefined), endpointsOf: () => EPS },
    balancer: new PolicyBalancer(() => 0),
    routes: () => rt,
  });
  const picks = [0, 1, 2].map(() => {
    const r = resolver.resolve({ host: SERVICE.hostname, subset: 'v1', weight: 100 }, SERVICE, 9080);
    return r.ok ? r.endpoint.workload.name : r.reason;
  });
  assert.deepEqual(picks, ['r1a', 'r1b', 'r1a']);
  const empty = resolver.resolve({ host: SERVICE.hostname, subset: 'v4', weight: 100 }, SERVICE, 9080);
  assert.deepEqual(empty.ok ? 'ok' : empty.reason, 'no healthy upstream: subset v4 of reviews.default.svc.cluster.local port 9080 has no healthy endpoint');
  const unknown = resolver.resolve({ host: SERVICE.hostname, subset: 'v9', weight: 100 }, SERVICE, 9080);
  assert.equal(unknown.ok, false);
  const none = resolver.resolve(undefined, SERVICE, 9080);
  assert.equal(none.ok && none.endpoint.workload.name, 'r1a');
});
