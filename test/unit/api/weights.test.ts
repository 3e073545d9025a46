// VirtualService route splits: with more than one destination the weights must add up to 100.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifests } from '../../../src/api/manifest.js';

const vs = (routes: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
${routes}`;

test('a 50/50 split between two subsets is accepted as written', () => {
  const [r] = parseManifests(
    vs(`  http:
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 50
    - destination:
        host: reviews
        subset: v3
        port:
          number: 9080
      weight: 50
`),
  );
  assert.deepEqual(r!.spec, {
    hosts: ['reviews'],
    http: [
      {
        route: [
          { destination: { host: 'reviews', subset: 'v1' }, weight: 50 },
          { destination: { host: 'reviews', subset: 'v3', port: { number: 9080 } }, weight: 50 },
        ],
      },
    ],
  });
});

test('an http split adding up to 90 is refused at spec.http[N].route', () => {
  const text = vs(`  http:
  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 60
    - destination:
        host: reviews
        subset: v3
      weight: 30
`);
  assert.throws(() => parseManifests(text), {
    code: 'L4MESH_ERR_INVALID_RESOURCE',
    path: 'spec.http[1].route',
    message: 'document 1: VirtualService/reviews: spec.http[1].route: weights of the 2 destinations add up to 90, must be 100',
  });
});

test('a tcp split with an unset weight counts it as 0', () => {
  const text = vs(`  tcp:
  - match:
    - port: 9080
    route:
    - destination:
        host: reviews
        subset: v1
      weight: 80
    - destination:
        host: reviews
        subset: v2
`);
  assert.throws(() => parseManifests(text), {
    code: 'L4MESH_ERR_INVALID_RESOURCE',
    path: 'spec.tcp[0].route',
    message: 'document 1: VirtualService/reviews: spec.tcp[0].route: weights of the 2 destinations add up to 80, must be 100',
  });
});

test('a single destination needs no weight, and any weight it has is left as written', () => {
  const [r] = parseManifests(
    vs(`  tcp:
  - route:
    - destination:
        host: reviews
      weight: 10
`),
  );
  assert.deepEqual(r!.spec, { hosts: ['reviews'], tcp: [{ route: [{ destination: { host: 'reviews' }, weight: 10 }] }] });
});

test('a weight above 100 is refused on the destination itself', () => {
  const text = vs(`  http:
  - route:
    - destination:
        host: reviews
      weight: 150
`);
  assert.throws(() => parseManifests(text), {
    code: 'L4MESH_ERR_INVALID_RESOURCE',
    path: 'spec.http[0].route[0].weight',
    message: 'document 1: VirtualService/reviews: spec.http[0].route[0].weight: must be between 0 and 100, got 150',
  });
});
