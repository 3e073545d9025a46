import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../../src/controlplane/registry/registry.js';
import type { MeshWorkload } from '../../../src/api/mesh.js';
import { FakeInput, pod } from './fake-input.js';

test('a Pod of a Deployment becomes a workload with every field set', () => {
  const input = new FakeInput([
    pod('ratings-v2-5c8f6d9b7-x7k2p', 'default', {
      ip: '127.10.0.5',
      labels: { app: 'ratings', version: 'v2', 'pod-template-hash': '5c8f6d9b7', 'app.kubernetes.io/part-of': 'bookinfo' },
      node: 'node-a',
      serviceAccount: 'bookinfo-ratings',
      owner: { kind: 'ReplicaSet', name: 'ratings-v2-5c8f6d9b7' },
    }),
  ]);
  const reg = new Registry(input, { debounceMs: 0 });
  const expected: MeshWorkload = {
    uid: 'Kubernetes//Pod/default/ratings-v2-5c8f6d9b7-x7k2p',
    name: 'ratings-v2-5c8f6d9b7-x7k2p',
    namespace: 'default',
    addresses: ['127.10.0.5'],
    hostname: '',
    network: '',
    tunnelProtocol: 'HBONE',
    trustDomain: 'cluster.local',
    serviceAccount: 'bookinfo-ratings',
    node: 'node-a',
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
  assert.deepStrictEqual([...reg.current().workloads.entries()], [[expected.uid, expected]]);
  reg.close();
});

test('l4mesh annotations name the workload and node; options set cluster, network and trust domain', () => {
  const input = new FakeInput([
    pod('web-0', 'shop', {
      ip: '127.10.0.9',
      labels: { 'service.istio.io/canonical-name': 'storefront', 'app.kubernetes.io/version': '1.2', 'sidecar.istio.io/inject': 'true' },
      annotations: { 'l4mesh.io/workload-kind': 'Deployment', 'l4mesh.io/workload-name': 'web', 'l4mesh.io/node': 'laptop' },
      ready: 'False',
    }),
  ]);
  const reg = new Registry(input, { clusterId: 'c1', network: 'net1', trustDomain: 'example.org' });
  const w = reg.current().workloads.get('c1//Pod/shop/web-0')!;
  assert.deepStrictEqual(
    {
      node: w.node, workloadType: w.workloadType, workloadName: w.workloadName, canonicalName: w.canonicalName,
      canonicalRevision: w.canonicalRevision, tunnelProtocol: w.tunnelProtocol, status: w.status, network: w.network,
      trustDomain: w.trustDomain, clusterId: w.clusterId, serviceAccount: w.serviceAccount, labels: w.labels,
    },
    {
      node: 'laptop', workloadType: 'DEPLOYMENT', workloadName: 'web', canonicalName: 'storefront',
      canonicalRevision: '1.2', tunnelProtocol: 'LEGACY_ISTIO_MTLS', status: 'UNHEALTHY', network: 'net1',
      trustDomain: 'example.org', clusterId: 'c1', serviceAccount: 'default',
      labels: { 'service.istio.io/canonical-name': 'storefront', 'app.kubernetes.io/version': '1.2' },
    },
  );
  reg.close();
});

test('pods without an IP or finished are skipped; dataplane-mode none means plain TCP; bare pod is POD', () => {
  const input = new FakeInput([
    pod('pending', 'default', {}),
    pod('done', 'default', { ip: '127.10.0.2', phase: 'Succeeded' }),
    pod('starting', 'default', { ip: '127.10.0.3', phase: 'Pending' }),
    pod('outside', 'default', { ip: '127.10.0.4', labels: { 'istio.io/dataplane-mode': 'none' } }),
  ]);
  const reg = new Registry(input);
  const ws = reg.current().workloads;
  assert.deepStrictEqual([...ws.keys()], ['Kubernetes//Pod/default/outside', 'Kubernetes//Pod/default/starting']);
  assert.equal(ws.get('Kubernetes//Pod/default/starting')!.status, 'UNHEALTHY');
  const outside = ws.get('Kubernetes//Pod/default/outside')!;
  assert.deepStrictEqual([outside.tunnelProtocol, outside.workloadType, outside.workloadName, outside.canonicalName, outside.canonicalRevision], ['NONE', 'POD', 'outside', 'outside', 'latest']);
  reg.close();
});

test('a WorkloadEntry becomes a workload: weight is capacity, node from annotation', () => {
  const input = new FakeInput([
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'WorkloadEntry',
      metadata: { name: 'vm-1', namespace: 'legacy', annotations: { 'l4mesh.io/node': 'vm-host' } },
      spec: { address: '127.20.0.1', labels: { app: 'billing', version: 'v1', zone: 'a' }, serviceAccount: 'billing', network: 'vmnet', weight: 3, ports: { http: 9080 } },
    },
  ]);
  const reg = new Registry(input);
  const expected: MeshWorkload = {
    uid: 'Kubernetes/networking.istio.io/WorkloadEntry/legacy/vm-1',
    name: 'vm-1',
    namespace: 'legacy',
    addresses: ['127.20.0.1'],
    hostname: '',
    network: 'vmnet',
    tunnelProtocol: 'HBONE',
    trustDomain: 'cluster.local',
    serviceAccount: 'billing',
    node: 'vm-host',
    canonicalName: 'billing',
    canonicalRevision: 'v1',
    workloadType: 'POD',
    workloadName: 'vm-1',
    services: {},
    authorizationPolicies: [],
    status: 'HEALTHY',
    clusterId: 'Kubernetes',
    capacity: 3,
    labels: { app: 'billing', version: 'v1' },
  };
  assert.deepStrictEqual(reg.current().workloads.get(expected.uid), expected);
  reg.close();
});

test('identitiesOnNode lists the SPIFFE ids of the workloads on that node only', () => {
  const input = new FakeInput([
    pod('a', 'default', { ip: '127.10.0.1', node: 'n1', serviceAccount: 'sa-a' }),
    pod('b', 'default', { ip: '127.10.0.2', node: 'n1' }),
    pod('c', 'other', { ip: '127.10.0.3', node: 'n2', serviceAccount: 'sa-c' }),
  ]);
  const reg = new Registry(input, { trustDomain: 'td.example' });
  assert.deepStrictEqual([...reg.identitiesOnNode('n1')].sort(), ['spiffe://td.example/ns/default/sa/default', 'spiffe://td.example/ns/default/sa/sa-a']);
  assert.deepStrictEqual([...reg.identitiesOnNode('n2')], ['spiffe://td.example/ns/other/sa/sa-c']);
  assert.deepStrictEqual([...reg.identitiesOnNode('n3')], []);
  reg.close();
});
