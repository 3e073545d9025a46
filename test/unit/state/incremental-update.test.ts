// ProxyState.update: incremental changes patch the indexes; full rebuilds are O(n); 'change' is emitted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshWorkload } from '../../../src/api/mesh.js';
import { ProxyState, type StateChange } from '../../../src/dataplane/state/index.js';
import { service, snapshot, workload } from './snapshot-fixture.js';

const KEY = 'default/ratings.default.svc.cluster.local';
const backs = { [KEY]: [] };

test('incremental update adds, replaces and removes workloads and services', () => {
  const a = workload('a', { addresses: ['127.1.0.1'], services: backs, node: 'n1' });
  const b = workload('b', { addresses: ['127.1.0.2'], services: backs, node: 'n1' });
  const snap = snapshot([a, b], [service('ratings', { addresses: ['10.96.0.1'], ports: [{ servicePort: 80, targetPort: 8080 }] })]);
  const state = new ProxyState();
  state.update(snap);
  assert.deepEqual(state.endpointsOf(KEY, 80).map((e) => e.workload.name), ['a', 'b']);

  // b moves to a new IP and node and becomes unhealthy; a is deleted; c appears; the service gets a new VIP.
  snap.workloads.delete(a.uid);
  snap.workloads.set(b.uid, { ...b, addresses: ['127.1.0.3'], node: 'n2', status: 'UNHEALTHY' });
  const c = workload('c', { addresses: ['127.1.0.4'], services: backs, node: 'n1' });
  snap.workloads.set(c.uid, c);
  snap.services.set(KEY, service('ratings', { addresses: ['10.96.0.2'], ports: [{ servicePort: 80, targetPort: 8080 }] }));
  state.update(snap, { workloads: [a.uid, b.uid, c.uid], services: [KEY] });

  assert.equal(state.workloadByAddress('127.1.0.1'), undefined);
  assert.equal(state.workloadByAddress('127.1.0.2'), undefined);
  assert.equal(state.workloadByAddress('127.1.0.3')?.name, 'b');
  assert.deepEqual(state.workloadsOnNode('n1').map((w) => w.name), ['c']);
  assert.deepEqual(state.workloadsOnNode('n2').map((w) => w.name), ['b']);
  assert.deepEqual(state.endpointsOf(KEY, 80).map((e) => e.workload.name), ['c']);
  assert.equal(state.serviceByAddress('10.96.0.1'), undefined);
  assert.equal(state.serviceByAddress('10.96.0.2')?.name, 'ratings');

  snap.services.delete(KEY);
  state.update(snap, { services: [KEY] });
  assert.equal(state.serviceByKey(KEY), undefined);
  assert.deepEqual(state.reachableServices('default'), []);
});

test("update emits 'change' with whether it was a full rebuild", () => {
  const state = new ProxyState();
  const events: StateChange[] = [];
  state.on('change', (e: StateChange) => events.push(e));
  const snap = snapshot([workload('a')]);
  state.update(snap);
  state.update(snap, { workloads: ['Kubernetes//Pod/default/a'] });
  assert.deepEqual(events, [{ full: true }, { full: false, changed: { workloads: ['Kubernetes//Pod/default/a'] } }]);
});

test('a full rebuild of 10,000 workloads and 1,000 services stays well under a second', () => {
  const workloads: MeshWorkload[] = [];
  const services = [];
  for (let i = 0; i < 1000; i++) services.push(service(`svc-${i}`, { addresses: [`10.97.${i >> 8}.${i & 255}`], ports: [{ servicePort: 80, targetPort: 8080 }] }));
  for (let i = 0; i < 10_000; i++) {
    workloads.push(
      workload(`pod-${i}`, {
        addresses: [`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`],
        node: `node-${i % 50}`,
        services: { [`default/svc-${i % 1000}.default.svc.cluster.local`]: [] },
      }),
    );
  }
  const snap = snapshot(workloads, services);
  const state = new ProxyState();
  state.update(snap); // warm-up: JIT
  // CPU time of this process, not wall time: other processes on a busy box do not count against it.
  const started = process.cpuUsage();
  state.update(snap);
  const used = process.cpuUsage(started);
  const cpuMs = (used.user + used.system) / 1000;
  assert.equal(state.workloadByAddress('10.0.39.15')?.name, 'pod-9999');
  assert.equal(state.endpointsOf('default/svc-999.default.svc.cluster.local', 80).length, 10);
  // The target is ~20 ms; the bound leaves room for GC and a slow CPU, not for other processes.
  assert.ok(cpuMs < 500, `full rebuild took ${cpuMs.toFixed(1)} ms of CPU`);
});
