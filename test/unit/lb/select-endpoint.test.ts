// selectEndpoint: the balancer over ProxyState's endpoints, with a coded error when there are none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NoHealthyUpstreamError, RoundRobinBalancer, selectEndpoint } from '../../../src/dataplane/lb.js';
import { ProxyState } from '../../../src/dataplane/state/index.js';
import { service, snapshot, workload } from '../state/snapshot-fixture.js';

const KEY = 'default/ratings.default.svc.cluster.local';

test('selectEndpoint rotates over the healthy endpoints of the service port', () => {
  const state = new ProxyState();
  state.update(
    snapshot(
      [
        workload('r1', { services: { [KEY]: [] } }),
        workload('r2', { services: { [KEY]: [] } }),
        workload('r3', { services: { [KEY]: [] }, status: 'UNHEALTHY' }),
      ],
      [service('ratings', { ports: [{ servicePort: 9080, targetPort: 9081 }] })],
    ),
  );
  const lb = new RoundRobinBalancer();
  const picks = [1, 2, 3, 4].map(() => selectEndpoint(state, lb, KEY, 9080));
  assert.deepEqual(picks.map((e) => `${e.workload.name}:${e.targetPort}`), ['r1:9081', 'r2:9081', 'r1:9081', 'r2:9081']);
});

test('selectEndpoint throws L4MESH_ERR_NO_HEALTHY_UPSTREAM naming the service and port', () => {
  const state = new ProxyState();
  state.update(snapshot([]));
  assert.throws(
    () => selectEndpoint(state, new RoundRobinBalancer(), KEY, 9080),
    (err: unknown) =>
      err instanceof NoHealthyUpstreamError &&
      err.code === 'L4MESH_ERR_NO_HEALTHY_UPSTREAM' &&
      err.message.startsWith(`no healthy endpoint for service ${KEY} port 9080: `),
  );
});
