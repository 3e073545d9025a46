// ProxyState lookups by address, uid, VIP, key, hostname, namespace and node over a hand-built snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyState } from '../../../src/dataplane/state/index.js';
import { service, snapshot, workload } from './snapshot-fixture.js';

function bookinfo(): ProxyState {
  const state = new ProxyState();
  state.update(
    snapshot(
      [
        workload('ratings-v1', { addresses: ['127.1.0.10'], node: 'node-a', serviceAccount: 'bookinfo-ratings' }),
        workload('reviews-v1', { addresses: ['127.1.0.11', 'fd00::11'], node: 'node-b', serviceAccount: '' }),
        workload('db', { namespace: 'data', addresses: ['127.1.0.12'], node: 'node-a', trustDomain: 'corp.example' }),
      ],
      [
        service('ratings', { addresses: ['10.96.0.10'] }),
        service('reviews', { addresses: ['10.96.0.11', 'fd00:96::11'] }),
        service('mysql', { namespace: 'data', addresses: ['10.96.0.12'] }),
        service('details', { addresses: ['10.96.0.13'] }),
      ],
    ),
  );
  return state;
}

test('workloadByAddress finds a workload by any of its IPs, in any spelling', () => {
  const state = bookinfo();
  assert.equal(state.workloadByAddress('127.1.0.10')?.name, 'ratings-v1');
  assert.equal(state.workloadByAddress('fd00::11')?.name, 'reviews-v1');
  assert.equal(state.workloadByAddress('fd00:0:0:0:0:0:0:11')?.name, 'reviews-v1');
  assert.equal(state.workloadByAddress('::ffff:127.1.0.12')?.name, 'db');
  assert.equal(state.workloadByAddress('127.1.0.99'), undefined);
});

test('workloadByUid returns the workload with that uid', () => {
  const state = bookinfo();
  assert.equal(state.workloadByUid('Kubernetes//Pod/data/db')?.name, 'db');
  assert.equal(state.workloadByUid('Kubernetes//Pod/default/db'), undefined);
});

test('services are found by VIP, key and hostname', () => {
  const state = bookinfo();
  assert.equal(state.serviceByAddress('10.96.0.11')?.name, 'reviews');
  assert.equal(state.serviceByAddress('fd00:96:0::11')?.name, 'reviews');
  assert.equal(state.serviceByAddress('10.96.0.99'), undefined);
  assert.equal(state.serviceByKey('data/mysql.data.svc.cluster.local')?.name, 'mysql');
  assert.equal(state.serviceByKey('default/mysql.data.svc.cluster.local'), undefined);
  assert.equal(state.serviceByHostname('ratings.default.svc.cluster.local')?.namespace, 'default');
  assert.equal(state.serviceByHostname('ratings'), undefined);
});

test('servicesInNamespace lists that namespace by name; reachableServices lists the mesh by namespace/name', () => {
  const state = bookinfo();
  assert.deepEqual(
    state.servicesInNamespace('default').map((s) => s.name),
    ['details', 'ratings', 'reviews'],
  );
  assert.deepEqual(state.servicesInNamespace('nowhere'), []);
  assert.deepEqual(
    state.reachableServices('default').map((s) => `${s.namespace}/${s.name}`),
    ['data/mysql', 'default/details', 'default/ratings', 'default/reviews'],
  );
});

test('workloadsOnNode lists every workload of the node ordered by uid', () => {
  const state = bookinfo();
  assert.deepEqual(
    state.workloadsOnNode('node-a').map((w) => w.uid),
    ['Kubernetes//Pod/data/db', 'Kubernetes//Pod/default/ratings-v1'],
  );
  assert.deepEqual(state.workloadsOnNode('node-z'), []);
});

test('identityOf builds the SPIFFE id with the default service account and trust domain when empty', () => {
  const state = bookinfo();
  assert.equal(
    state.identityOf(state.workloadByUid('Kubernetes//Pod/default/ratings-v1')!),
    'spiffe://cluster.local/ns/default/sa/bookinfo-ratings',
  );
  assert.equal(
    state.identityOf(state.workloadByUid('Kubernetes//Pod/default/reviews-v1')!),
    'spiffe://cluster.local/ns/default/sa/default',
  );
  assert.equal(state.identityOf(state.workloadByUid('Kubernetes//Pod/data/db')!), 'spiffe://corp.example/ns/data/sa/default');
  assert.equal(
    state.identityOf(workload('x', { namespace: 'n', trustDomain: '', serviceAccount: 'sa' })),
    'spiffe://cluster.local/ns/n/sa/sa',
  );
});

test('an address shared by two workloads resolves to the healthy one, then the smaller uid', () => {
  const state = new ProxyState();
  state.update(
    snapshot([
      workload('b-old', { addresses: ['127.1.0.20'], status: 'UNHEALTHY' }),
      workload('c-new', { addresses: ['127.1.0.20'] }),
      workload('d-new', { addresses: ['127.1.0.20'] }),
    ]),
  );
  assert.equal(state.workloadByAddress('127.1.0.20')?.name, 'c-new');
});
