// ProxyState.endpointsOf: healthy backing workloads only, ordered by uid, with the right target port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyState } from '../../../src/dataplane/state/index.js';
import { service, snapshot, workload } from './snapshot-fixture.js';

const KEY = 'default/ratings.default.svc.cluster.local';

function state(): ProxyState {
  const s = new ProxyState();
  s.update(
    snapshot(
      [
        workload('ratings-c', { services: { [KEY]: [{ servicePort: 9080, targetPort: 9082 }] } }),
        workload('ratings-a', { services: { [KEY]: [] } }),
        workload('ratings-b', { services: { [KEY]: [] }, status: 'UNHEALTHY' }),
        workload('ratings-d', { services: { [KEY]: [{ servicePort: 7000, targetPort: 7001 }] } }),
        workload('other', { services: { 'default/other.default.svc.cluster.local': [] } }),
      ],
      [service('ratings', { ports: [{ servicePort: 9080, targetPort: 9081 }] })],
    ),
  );
  return s;
}

test('endpointsOf returns healthy backing workloads ordered by uid with per-workload target ports', () => {
  const endpoints = state().endpointsOf(KEY, 9080);
  assert.deepEqual(
    endpoints.map((e) => [e.workload.name, e.targetPort]),
    [
      ['ratings-a', 9081],
      ['ratings-c', 9082],
      ['ratings-d', 9081],
    ],
  );
});

test('a port the service does not declare reaches only workloads that map it', () => {
  assert.deepEqual(
    state()
      .endpointsOf(KEY, 7000)
      .map((e) => [e.workload.name, e.targetPort]),
    [['ratings-d', 7001]],
  );
});

test('a service port with target port 0 falls back to the service port', () => {
  const s = new ProxyState();
  s.update(snapshot([workload('w', { services: { [KEY]: [] } })], [service('ratings', { ports: [{ servicePort: 80, targetPort: 0 }] })]));
  assert.deepEqual(
    s.endpointsOf(KEY, 80).map((e) => e.targetPort),
    [80],
  );
});

test('unknown services and services with only unhealthy workloads have no endpoints', () => {
  const s = state();
  assert.deepEqual(s.endpointsOf('default/nope.default.svc.cluster.local', 9080), []);
  const only = new ProxyState();
  only.update(snapshot([workload('w', { services: { [KEY]: [] }, status: 'UNHEALTHY' })], [service('ratings', { ports: [{ servicePort: 9080, targetPort: 9080 }] })]));
  assert.deepEqual(only.endpointsOf(KEY, 9080), []);
  assert.deepEqual(only.endpointCounts(KEY), { healthy: 0, total: 1 });
  assert.deepEqual(s.endpointCounts(KEY), { healthy: 3, total: 4 });
});
