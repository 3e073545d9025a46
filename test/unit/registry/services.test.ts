import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../../src/controlplane/registry/registry.js';
import type { MeshService } from '../../../src/api/mesh.js';
import { FakeInput, pod, service } from './fake-input.js';

test('a Service selects workloads in its namespace; a named targetPort resolves per pod', () => {
  const input = new FakeInput([
    service('reviews', 'default', {
      clusterIP: '10.96.0.20',
      selector: { app: 'reviews' },
      ports: [
        { name: 'http', port: 9080, targetPort: 'web' },
        { name: 'grpc-api', port: 9090, targetPort: 9091 },
        { name: 'metrics', port: 9100, appProtocol: 'http2' },
      ],
    }),
    pod('reviews-1', 'default', { ip: '127.10.0.1', labels: { app: 'reviews' }, containerPorts: [{ name: 'web', containerPort: 8080 }] }),
    pod('reviews-2', 'default', { ip: '127.10.0.2', labels: { app: 'reviews' } }),
    pod('reviews-elsewhere', 'other', { ip: '127.10.0.3', labels: { app: 'reviews' } }),
    pod('ratings-1', 'default', { ip: '127.10.0.4', labels: { app: 'ratings' } }),
  ]);
  const reg = new Registry(input);
  const snap = reg.current();
  const expected: MeshService = {
    name: 'reviews',
    namespace: 'default',
    hostname: 'reviews.default.svc.cluster.local',
    addresses: ['10.96.0.20'],
    ports: [
      { servicePort: 9080, targetPort: 9080, appProtocol: 'HTTP11' },
      { servicePort: 9090, targetPort: 9091, appProtocol: 'GRPC' },
      { servicePort: 9100, targetPort: 9100, appProtocol: 'HTTP2' },
    ],
  };
  assert.deepStrictEqual([...snap.services.entries()], [['default/reviews.default.svc.cluster.local', expected]]);
  const key = 'default/reviews.default.svc.cluster.local';
  assert.deepStrictEqual(snap.workloads.get('Kubernetes//Pod/default/reviews-1')!.services, {
    [key]: [
      { servicePort: 9080, targetPort: 8080, appProtocol: 'HTTP11' },
      { servicePort: 9090, targetPort: 9091, appProtocol: 'GRPC' },
      { servicePort: 9100, targetPort: 9100, appProtocol: 'HTTP2' },
    ],
  });
  assert.deepStrictEqual(snap.workloads.get('Kubernetes//Pod/default/reviews-2')!.services[key]![0], { servicePort: 9080, targetPort: 9080, appProtocol: 'HTTP11' });
  assert.deepStrictEqual(snap.workloads.get('Kubernetes//Pod/other/reviews-elsewhere')!.services, {});
  assert.deepStrictEqual(snap.workloads.get('Kubernetes//Pod/default/ratings-1')!.services, {});
  reg.close();
});

test('a Service without a selector has no endpoints; a headless one gets no VIP', () => {
  const input = new FakeInput([
    service('manual', 'default', { ports: [{ port: 80 }] }),
    service('headless', 'default', { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432, name: 'tcp-pg' }] }),
    pod('db-0', 'default', { ip: '127.10.0.7', labels: { app: 'db' } }),
  ]);
  const reg = new Registry(input);
  const snap = reg.current();
  assert.deepStrictEqual(snap.services.get('default/manual.default.svc.cluster.local')!.addresses, ['127.2.0.1']);
  assert.deepStrictEqual(snap.services.get('default/headless.default.svc.cluster.local')!.addresses, []);
  assert.deepStrictEqual(snap.workloads.get('Kubernetes//Pod/default/db-0')!.services, {
    'default/headless.default.svc.cluster.local': [{ servicePort: 5432, targetPort: 5432 }],
  });
  reg.close();
});

test('ServiceEntry: one service per host, inline endpoints become workloads, workloadSelector picks WorkloadEntries', () => {
  const input = new FakeInput([
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'external-api', namespace: 'default' },
      spec: {
        hosts: ['api.example.com', 'api2.example.com'],
        addresses: ['240.0.0.10'],
        location: 'MESH_EXTERNAL',
        ports: [{ number: 443, name: 'tls', protocol: 'TLS' }, { number: 80, name: 'http', protocol: 'HTTP', targetPort: 8080 }],
        endpoints: [{ address: '127.30.0.1', labels: { app: 'api' }, ports: { tls: 8443 }, weight: 2 }],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'vm-svc', namespace: 'legacy' },
      spec: { hosts: ['billing.legacy.mesh'], ports: [{ number: 9080, name: 'http' }], workloadSelector: { labels: { app: 'billing' } } },
    },
    { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'vm-1', namespace: 'legacy' }, spec: { address: '127.20.0.1', labels: { app: 'billing' }, ports: { http: 19080 } } },
  ]);
  const reg = new Registry(input);
  const snap = reg.current();
  assert.deepStrictEqual(snap.services.get('default/api.example.com'), {
    name: 'external-api',
    namespace: 'default',
    hostname: 'api.example.com',
    addresses: ['240.0.0.10'],
    ports: [{ servicePort: 443, targetPort: 443 }, { servicePort: 80, targetPort: 8080, appProtocol: 'HTTP11' }],
  });
  assert.deepStrictEqual(snap.services.get('legacy/billing.legacy.mesh')!.addresses, ['127.2.0.1']);
  const ep = snap.workloads.get('Kubernetes/networking.istio.io/ServiceEntry/default/external-api/127.30.0.1')!;
  const ports = [{ servicePort: 443, targetPort: 8443 }, { servicePort: 80, targetPort: 8080, appProtocol: 'HTTP11' as const }];
  assert.deepStrictEqual(
    [ep.addresses, ep.tunnelProtocol, ep.capacity, ep.workloadName, ep.canonicalName, ep.services],
    [['127.30.0.1'], 'NONE', 2, 'external-api', 'api', { 'default/api.example.com': ports, 'default/api2.example.com': ports }],
  );
  assert.deepStrictEqual(snap.workloads.get('Kubernetes/networking.istio.io/WorkloadEntry/legacy/vm-1')!.services, {
    'legacy/billing.legacy.mesh': [{ servicePort: 9080, targetPort: 19080, appProtocol: 'HTTP11' }],
  });
  reg.close();
});
