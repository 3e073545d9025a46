// Apply-time cross-check: a VirtualService route naming a subset that no DestinationRule defines is
// rejected with its field path; and the node-token-authenticated /proxy/v1/routes endpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseManifests } from '../../../src/api/manifest.js';
import { checkSubsets } from '../../../src/api/cross-check.js';
import { InvalidResourceError } from '../../../src/errors/index.js';
import { createProxyConfigHandler } from '../../../src/controlplane/api/proxy-config.js';
import type { Resource } from '../../../src/api/types.js';

const DR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
`;

function vs(dest2: string, namespace = 'default'): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: ${namespace}}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 50
    - destination: {${dest2}}
      weight: 50
`;
}

function rejection(fn: () => void): { path: string; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidResourceError);
    return { path: err.path, message: err.message };
  }
  assert.fail('expected an InvalidResourceError');
}

test('unknown subset: rejected with the path of the destination that names it', () => {
  const applying = parseManifests(DR + vs('host: reviews, subset: v3'));
  const r = rejection(() => checkSubsets(applying, []));
  assert.equal(r.path, 'spec.http[0].route[1].destination.subset');
  assert.equal(
    r.message,
    'document 2: VirtualService/reviews: spec.http[0].route[1].destination.subset: subset "v3" is not defined by the DestinationRule for reviews.default.svc.cluster.local (it defines: v1, v2)',
  );
});

test('subsets defined by a stored rule, a rule applied together, or a fully qualified host are accepted', () => {
  const stored = parseManifests(DR);
  assert.doesNotThrow(() => checkSubsets(parseManifests(vs('host: reviews, subset: v2')), stored));
  assert.doesNotThrow(() => checkSubsets(parseManifests(DR + vs('host: reviews.default.svc.cluster.local, subset: v2')), []));
  // No subset named: nothing to check.
  assert.doesNotThrow(() => checkSubsets(parseManifests(vs('host: ratings')), stored));
});

test('a rule re-applied without the subset, or a rule for another namespace, does not count', () => {
  const stored = parseManifests(DR);
  const shrunk = DR.replace('  - {name: v2, labels: {version: v2}}\n', '');
  const r = rejection(() => checkSubsets(parseManifests(shrunk + vs('host: reviews, subset: v2')), stored));
  assert.equal(r.path, 'spec.http[0].route[1].destination.subset');
  const other = rejection(() => checkSubsets(parseManifests(vs('host: reviews, subset: v2', 'prod')), stored));
  assert.match(other.message, /no DestinationRule for host reviews\.prod\.svc\.cluster\.local/);
});

test('/proxy/v1/routes: node token required, namespace-scoped, ETag answered with 304', async () => {
  const resources = parseManifests(DR + vs('host: reviews, subset: v2'));
  const store = { list: (kind?: string, ns?: string): Resource[] => resources.filter((r) => r.kind === kind && r.metadata.namespace === ns) };
  const handler = createProxyConfigHandler(store, { verify: (t: string) => (t === 'good' ? 'node-1' : undefined) });
  const server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(418).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.equal((await fetch(`${base}/proxy/v1/routes?namespace=default`)).status, 401);
    assert.equal((await fetch(`${base}/proxy/v1/routes?namespace=default`, { headers: { authorization: 'Bearer bad' } })).status, 401);
    assert.equal((await fetch(`${base}/elsewhere`)).status, 418);
    const auth = { authorization: 'Bearer good' };
    const res = await fetch(`${base}/proxy/v1/routes?namespace=default`, { headers: auth });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { namespace: string; virtualServices: Resource[]; destinationRules: Resource[] };
    assert.deepEqual([body.namespace, body.virtualServices.map((r) => r.metadata.name), body.destinationRules.map((r) => r.metadata.name)], ['default', ['reviews'], ['reviews']]);
    const etag = res.headers.get('etag')!;
    assert.equal((await fetch(`${base}/proxy/v1/routes?namespace=default`, { headers: { ...auth, 'if-none-match': etag } })).status, 304);
    const other = (await (await fetch(`${base}/proxy/v1/routes?namespace=prod`, { headers: auth })).json()) as { virtualServices: Resource[] };
    assert.deepEqual(other.virtualServices, []);
    assert.equal((await fetch(`${base}/proxy/v1/routes`, { headers: auth })).status, 400);
  } finally {
    server.close();
  }
});
