// ProxyState.waypointFor: a GatewayAddress resolves to the waypoint service and its healthy instances.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyState } from '../../../src/dataplane/state/index.js';
import { service, snapshot, workload } from './snapshot-fixture.js';

const WAYPOINT_KEY = 'bookinfo/waypoint.bookinfo.svc.cluster.local';

function state(): ProxyState {
  const s = new ProxyState();
  s.update(
    snapshot(
      [
        workload('waypoint-b', { namespace: 'bookinfo', addresses: ['127.3.0.2'], services: { [WAYPOINT_KEY]: [] } }),
        workload('waypoint-a', { namespace: 'bookinfo', addresses: ['127.3.0.1'], services: { [WAYPOINT_KEY]: [] } }),
        workload('waypoint-c', { namespace: 'bookinfo', services: { [WAYPOINT_KEY]: [] }, status: 'UNHEALTHY' }),
        workload('gw-by-ip', { namespace: 'bookinfo', addresses: ['127.3.0.9'] }),
      ],
      [
        service('waypoint', { namespace: 'bookinfo', addresses: ['10.96.3.1'], ports: [{ servicePort: 15021, targetPort: 15021 }] }),
        service('reviews', {
          namespace: 'bookinfo',
          waypoint: { hostname: { namespace: 'bookinfo', hostname: 'waypoint.bookinfo.svc.cluster.local' }, hboneMtlsPort: 15008 },
        }),
        service('ratings', { namespace: 'bookinfo' }),
        service('details', {
          namespace: 'bookinfo',
          waypoint: { hostname: { namespace: 'bookinfo', hostname: 'missing.bookinfo.svc.cluster.local' }, hboneMtlsPort: 15008 },
        }),
      ],
    ),
  );
  return s;
}

test('a hostname waypoint resolves to its service and healthy workloads on the HBONE port, by uid', () => {
  const s = state();
  const target = s.waypointFor(s.serviceByKey('bookinfo/reviews.bookinfo.svc.cluster.local')!);
  assert.equal(target?.service?.name, 'waypoint');
  assert.deepEqual(
    target?.endpoints.map((e) => [e.workload.name, e.targetPort]),
    [
      ['waypoint-a', 15008],
      ['waypoint-b', 15008],
    ],
  );
});

test('a service without a waypoint has none', () => {
  const s = state();
  assert.equal(s.waypointFor(s.serviceByKey('bookinfo/ratings.bookinfo.svc.cluster.local')!), undefined);
});

test('an unknown waypoint hostname yields no endpoints rather than no waypoint', () => {
  const s = state();
  const target = s.waypointFor(s.serviceByKey('bookinfo/details.bookinfo.svc.cluster.local')!);
  assert.deepEqual(target, {
    gateway: { hostname: { namespace: 'bookinfo', hostname: 'missing.bookinfo.svc.cluster.local' }, hboneMtlsPort: 15008 },
    endpoints: [],
  });
});

test('an address waypoint resolves through a service VIP or a workload IP', () => {
  const s = state();
  const byVip = s.waypointFor({ waypoint: { address: { network: '', address: '10.96.3.1' }, hboneMtlsPort: 15008 } });
  assert.equal(byVip?.service?.name, 'waypoint');
  assert.deepEqual(byVip?.endpoints.map((e) => e.workload.name), ['waypoint-a', 'waypoint-b']);
  const byIp = s.waypointFor({ waypoint: { address: { network: '', address: '127.3.0.9' }, hboneMtlsPort: 15009 } });
  assert.equal(byIp?.service, undefined);
  assert.deepEqual(byIp?.endpoints.map((e) => [e.workload.name, e.targetPort]), [['gw-by-ip', 15009]]);
});
