import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../../src/controlplane/registry/registry.js';
import type { Resource } from '../../../src/api/types.js';
import { FakeInput, pod, service } from './fake-input.js';

const ns = (name: string, labels: Record<string, string>): Resource => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const waypointOf = (reg: Registry, key: string) => reg.current().services.get(key)?.waypoint;

test('a namespace label sends its services through the waypoint; the waypoint itself and opted-out services do not', () => {
  const input = new FakeInput([
    ns('default', { 'istio.io/use-waypoint': 'waypoint' }),
    service('reviews', 'default', { selector: { app: 'reviews' }, ports: [{ port: 9080 }] }),
    service('waypoint', 'default', { selector: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' }, ports: [{ port: 15008 }] }),
    service('managed', 'default', { ports: [{ port: 15008 }] }, { 'gateway.istio.io/managed': 'istio.io-mesh-controller' }),
    service('direct', 'default', { ports: [{ port: 80 }] }, { 'istio.io/use-waypoint': 'none' }),
    service('plain', 'other', { ports: [{ port: 80 }] }),
  ]);
  const reg = new Registry(input);
  assert.deepStrictEqual(waypointOf(reg, 'default/reviews.default.svc.cluster.local'), {
    hostname: { namespace: 'default', hostname: 'waypoint.default.svc.cluster.local' },
    hboneMtlsPort: 15008,
  });
  assert.equal(waypointOf(reg, 'default/waypoint.default.svc.cluster.local'), undefined);
  assert.equal(waypointOf(reg, 'default/managed.default.svc.cluster.local'), undefined);
  assert.equal(waypointOf(reg, 'default/direct.default.svc.cluster.local'), undefined);
  assert.equal(waypointOf(reg, 'other/plain.other.svc.cluster.local'), undefined);
  assert.equal('waypoint' in reg.current().services.get('other/plain.other.svc.cluster.local')!, false);
  reg.close();
});

test('a service label (with a waypoint namespace) wins over the namespace label; a workload label sets Workload.waypoint', () => {
  const input = new FakeInput([
    ns('shop', { 'istio.io/use-waypoint': 'ns-wp' }),
    service('cart', 'shop', { ports: [{ port: 80 }] }, { 'istio.io/use-waypoint': 'shared-wp', 'istio.io/use-waypoint-namespace': 'infra' }),
    pod('cart-1', 'shop', { ip: '127.10.0.1', labels: { 'istio.io/use-waypoint': 'cart-wp' } }),
    pod('cart-2', 'shop', { ip: '127.10.0.2' }),
  ]);
  const reg = new Registry(input);
  assert.deepStrictEqual(waypointOf(reg, 'shop/cart.shop.svc.cluster.local'), {
    hostname: { namespace: 'infra', hostname: 'shared-wp.infra.svc.cluster.local' },
    hboneMtlsPort: 15008,
  });
  const ws = reg.current().workloads;
  assert.deepStrictEqual(ws.get('Kubernetes//Pod/shop/cart-1')!.waypoint, {
    hostname: { namespace: 'shop', hostname: 'cart-wp.shop.svc.cluster.local' },
    hboneMtlsPort: 15008,
  });
  assert.equal('waypoint' in ws.get('Kubernetes//Pod/shop/cart-2')!, false);
  reg.close();
});
