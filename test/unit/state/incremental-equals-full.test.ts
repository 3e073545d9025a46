// Incremental updates leave ProxyState answering exactly as a full rebuild of the same snapshot would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshService, MeshWorkload } from '../../../src/api/mesh.js';
import { ProxyState } from '../../../src/dataplane/state/index.js';
import { service, snapshot, workload } from './snapshot-fixture.js';

// Deterministic pseudo-random sequence (LCG), so a failure replays identically.
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

const SERVICES = ['a', 'b', 'c'].map((n) => service(n, { addresses: [`10.96.0.${n.charCodeAt(0)}`], ports: [{ servicePort: 80, targetPort: 8080 }] }));
const KEYS = SERVICES.map((s) => `${s.namespace}/${s.hostname}`);

function randomWorkload(i: number, rnd: () => number): MeshWorkload {
  const services: MeshWorkload['services'] = {};
  for (const key of KEYS) if (rnd() < 0.5) services[key] = [];
  return workload(`w${i}`, {
    addresses: [`127.1.0.${1 + Math.floor(rnd() * 6)}`],
    node: `node-${Math.floor(rnd() * 3)}`,
    status: rnd() < 0.25 ? 'UNHEALTHY' : 'HEALTHY',
    services,
  });
}

function answers(state: ProxyState): unknown {
  return {
    byIp: [1, 2, 3, 4, 5, 6].map((i) => state.workloadByAddress(`127.1.0.${i}`)?.uid),
    nodes: [0, 1, 2].map((n) => state.workloadsOnNode(`node-${n}`).map((w) => w.uid)),
    endpoints: KEYS.map((k) => state.endpointsOf(k, 80).map((e) => e.workload.uid)),
    vips: SERVICES.map((s) => state.serviceByAddress(s.addresses[0]!)?.name),
    services: state.reachableServices('default').map((s) => s.name),
  };
}

test('200 random incremental changes match a full rebuild after each step', () => {
  const rnd = lcg(7);
  const snap = snapshot([], []);
  const incremental = new ProxyState();
  incremental.update(snap);
  for (let step = 0; step < 200; step++) {
    const uid = `Kubernetes//Pod/default/w${Math.floor(rnd() * 8)}`;
    const changedServices: string[] = [];
    if (rnd() < 0.3) snap.workloads.delete(uid);
    else snap.workloads.set(uid, randomWorkload(Number(uid.slice(-1)), rnd));
    if (rnd() < 0.2) {
      const s: MeshService = SERVICES[Math.floor(rnd() * 3)]!;
      const key = `${s.namespace}/${s.hostname}`;
      if (snap.services.has(key)) snap.services.delete(key);
      else snap.services.set(key, s);
      changedServices.push(key);
    }
    incremental.update(snap, { workloads: [uid], services: changedServices });
    const full = new ProxyState();
    full.update(snap);
    assert.deepEqual(answers(incremental), answers(full), `step ${step}`);
  }
});
