// ProxyState.policiesFor: GLOBAL, the workload's NAMESPACE policies and its named selector policies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyState } from '../../../src/dataplane/state/index.js';
import { match, policy, snapshot, workload } from './snapshot-fixture.js';

const any = [match({ destinationPorts: [1] })];

function state(): ProxyState {
  const s = new ProxyState();
  s.update(
    snapshot(
      [
        workload('ratings', { authorizationPolicies: ['default/ratings-only', 'default/not-received'] }),
        workload('reviews'),
        workload('db', { namespace: 'data' }),
      ],
      [],
      [
        policy('istio-system', 'mesh-wide', 'DENY', any, 'GLOBAL'),
        policy('default', 'ns-allow', 'ALLOW', any, 'NAMESPACE'),
        policy('data', 'data-allow', 'ALLOW', any, 'NAMESPACE'),
        policy('default', 'ratings-only', 'ALLOW', any, 'WORKLOAD_SELECTOR'),
        policy('default', 'reviews-only', 'ALLOW', any, 'WORKLOAD_SELECTOR'),
      ],
    ),
  );
  return s;
}

function keysFor(s: ProxyState, uid: string): string[] {
  return s.policiesFor(s.workloadByUid(uid)!).map((p) => `${p.namespace}/${p.name}`);
}

test('a workload gets GLOBAL, its namespace and its selected policies, sorted by namespace/name', () => {
  const s = state();
  assert.deepEqual(keysFor(s, 'Kubernetes//Pod/default/ratings'), [
    'default/ns-allow',
    'default/ratings-only',
    'istio-system/mesh-wide',
  ]);
  assert.deepEqual(keysFor(s, 'Kubernetes//Pod/default/reviews'), ['default/ns-allow', 'istio-system/mesh-wide']);
  assert.deepEqual(keysFor(s, 'Kubernetes//Pod/data/db'), ['data/data-allow', 'istio-system/mesh-wide']);
});

test('a policy removed by an incremental update no longer applies', () => {
  const s = state();
  const snap = snapshot([workload('ratings', { authorizationPolicies: ['default/ratings-only'] })]);
  snap.authorizations.set('istio-system/mesh-wide', policy('istio-system', 'mesh-wide', 'DENY', any, 'GLOBAL'));
  s.update(snap, { authorizations: ['default/ns-allow'] });
  assert.deepEqual(keysFor(s, 'Kubernetes//Pod/default/ratings'), ['default/ratings-only', 'istio-system/mesh-wide']);
});
