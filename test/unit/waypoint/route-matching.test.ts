// VirtualService http/tcp route matching: uri exact/prefix/regex, headers, method, port, first match wins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifests } from '../../../src/api/manifest.js';
import { RouteTable } from '../../../src/waypoint/route-config.js';
import { selectHttpRoute, selectTcpRoute, type HttpRequestFacts } from '../../../src/waypoint/router.js';

const HOST = 'reviews.default.svc.cluster.local';

function table(yaml: string): RouteTable {
  const resources = parseManifests(yaml);
  return new RouteTable({
    virtualServices: resources.filter((r) => r.kind === 'VirtualService'),
    destinationRules: resources.filter((r) => r.kind === 'DestinationRule'),
  });
}

const VS = table(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - name: jason
    match:
    - headers:
        end-user: {exact: jason}
    route:
    - destination: {host: reviews, subset: v2}
  - name: exact
    match:
    - uri: {exact: /health}
    route:
    - destination: {host: reviews, subset: v1}
  - name: regex
    match:
    - uri: {regex: "/items/[0-9]+"}
      method: {exact: POST}
    route:
    - destination: {host: reviews, subset: v1}
  - name: prefix-or-port
    match:
    - uri: {prefix: /api/}
    - port: 9443
    route:
    - destination: {host: reviews, subset: v3}
  - name: header-prefix
    match:
    - headers:
        x-group: {prefix: beta}
      withoutHeaders:
        x-skip: {prefix: ""}
    route:
    - destination: {host: ratings, subset: v1}
  - name: fallback
    route:
    - destination: {host: reviews, subset: v1}
`);

function routeName(req: Partial<HttpRequestFacts>): string | undefined {
  return selectHttpRoute(VS.httpRoutes(HOST), { method: 'GET', path: '/', headers: {}, port: 9080, ...req })?.name;
}

test('header exact match: only end-user=jason takes the jason route', () => {
  assert.equal(routeName({ headers: { 'end-user': 'jason' } }), 'jason');
  assert.equal(routeName({ headers: { 'end-user': 'jason2' } }), 'fallback');
  assert.equal(routeName({ headers: { 'end-user': 'Jason' } }), 'fallback');
  // First match wins even when a later route would match too.
  assert.equal(routeName({ headers: { 'end-user': 'jason' }, path: '/health' }), 'jason');
});

test('uri exact ignores the query string; prefix sees the whole path; regex must match all of the path', () => {
  assert.equal(routeName({ path: '/health' }), 'exact');
  assert.equal(routeName({ path: '/health?verbose=1' }), 'exact');
  assert.equal(routeName({ path: '/health/' }), 'fallback');
  assert.equal(routeName({ path: '/api/v1' }), 'prefix-or-port');
  assert.equal(routeName({ path: '/apix' }), 'fallback');
  assert.equal(routeName({ path: '/items/42', method: 'POST' }), 'regex');
  assert.equal(routeName({ path: '/items/42?x=1', method: 'POST' }), 'regex');
  assert.equal(routeName({ path: '/items/42a', method: 'POST' }), 'fallback');
  assert.equal(routeName({ path: '/x/items/42', method: 'POST' }), 'fallback');
  // Every condition of one match block must hold: the method is part of it.
  assert.equal(routeName({ path: '/items/42', method: 'GET' }), 'fallback');
});

test('match blocks of one route are alternatives: a port alone selects it', () => {
  assert.equal(routeName({ port: 9443, path: '/other' }), 'prefix-or-port');
  assert.equal(routeName({ port: 9080, path: '/other' }), 'fallback');
});

test('header prefix with withoutHeaders; repeated header values are joined with a comma', () => {
  assert.equal(routeName({ headers: { 'x-group': 'beta-users' } }), 'header-prefix');
  assert.equal(routeName({ headers: { 'x-group': 'beta-users', 'x-skip': 'yes' } }), 'fallback');
  assert.equal(routeName({ headers: { 'x-group': ['beta', 'alpha'] } }), 'header-prefix');
  assert.equal(routeName({ headers: { 'x-group': 'alpha' } }), 'fallback');
  const dest = selectHttpRoute(VS.httpRoutes(HOST), { method: 'GET', path: '/', headers: { 'x-group': 'beta' }, port: 9080 })!.destinations;
  assert.deepEqual(dest, [{ host: 'ratings.default.svc.cluster.local', subset: 'v1', port: undefined, weight: 100 }]);
});

test('no VirtualService for a host: no routes; short hosts resolve in the rule namespace', () => {
  assert.deepEqual(VS.httpRoutes('ratings.default.svc.cluster.local'), []);
  assert.deepEqual(VS.httpRoutes('reviews.other.svc.cluster.local'), []);
  assert.equal(VS.httpRoutes(HOST).length, 6);
  assert.equal(VS.httpRoutes(HOST)[0]!.key, 'default/reviews/http[0]');
});

test('tcp routes match on port; the first matching route wins', () => {
  const t = table(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db.default.svc.cluster.local]
  tcp:
  - match:
    - port: 5432
    route:
    - destination: {host: db, subset: primary}
  - route:
    - destination: {host: db, subset: replica}
      weight: 50
    - destination: {host: db-backup, port: {number: 6000}}
      weight: 50
`);
  const routes = t.tcpRoutes('db.default.svc.cluster.local');
  assert.equal(selectTcpRoute(routes, { port: 5432 })!.destinations[0]!.subset, 'primary');
  assert.deepEqual(selectTcpRoute(routes, { port: 5433 })!.destinations, [
    { host: 'db.default.svc.cluster.local', subset: 'replica', port: undefined, weight: 50 },
    { host: 'db-backup.default.svc.cluster.local', subset: undefined, port: 6000, weight: 50 },
  ]);
});
