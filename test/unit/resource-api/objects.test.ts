// GET lists and objects, PUT and DELETE of single objects on Kubernetes-shaped paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOOKINFO, startApi } from './api-server.js';

test('GET lists answer a <Kind>List with the store resourceVersion, per namespace or across all', async (t) => {
  const api = await startApi(t);
  await api.call('POST', '/apply', { body: BOOKINFO });
  await api.call('POST', '/apply', { body: 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n' });

  const inNs = await api.call('GET', '/api/v1/namespaces/bookinfo/services');
  assert.equal(inNs.status, 200);
  assert.equal(inNs.headers['content-type'], 'application/json');
  assert.deepEqual(inNs.json, {
    apiVersion: 'v1',
    kind: 'ServiceList',
    metadata: { resourceVersion: '5' },
    items: [api.store.get('Service', 'bookinfo', 'ratings'), api.store.get('Service', 'bookinfo', 'reviews')],
  });
  const all = await api.call('GET', '/api/v1/services');
  assert.deepEqual(all.json.items.map((r: { metadata: { namespace: string; name: string } }) => `${r.metadata.namespace}/${r.metadata.name}`), [
    'bookinfo/ratings',
    'bookinfo/reviews',
    'shop/web',
  ]);
  const namespaces = await api.call('GET', '/api/v1/namespaces');
  assert.equal(namespaces.json.kind, 'NamespaceList');
  assert.deepEqual(namespaces.json.items.map((r: { metadata: { name: string } }) => r.metadata.name), ['bookinfo']);

  // Istio groups, with the stored version and with an older accepted one.
  for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
    const drs = await api.call('GET', `/apis/networking.istio.io/${version}/namespaces/bookinfo/destinationrules`);
    assert.equal(drs.status, 200, version);
    assert.equal(drs.json.apiVersion, 'networking.istio.io/v1');
    assert.equal(drs.json.kind, 'DestinationRuleList');
    assert.equal(drs.json.items.length, 1);
  }
  const allDrs = await api.call('GET', '/apis/networking.istio.io/v1/destinationrules');
  assert.equal(allDrs.json.items[0].metadata.name, 'reviews');
  assert.deepEqual((await api.call('GET', '/apis/apps/v1/deployments')).json.items, []);
});

test('labelSelector filters lists', async (t) => {
  const api = await startApi(t);
  await api.call('POST', '/apply', { body: BOOKINFO });
  const names = async (selector: string) =>
    (await api.call('GET', `/api/v1/namespaces/bookinfo/services?labelSelector=${encodeURIComponent(selector)}`)).json.items.map(
      (r: { metadata: { name: string } }) => r.metadata.name,
    );
  assert.deepEqual(await names('app=reviews'), ['reviews']);
  assert.deepEqual(await names('app=reviews,service=reviews'), ['reviews']);
  assert.deepEqual(await names('app=reviews,service=other'), []);
  assert.deepEqual(await names('app!=reviews'), ['ratings']);
  assert.deepEqual(await names('service'), ['reviews']);
  assert.deepEqual(await names('!service'), ['ratings']);
  assert.deepEqual(await names('app==ratings'), ['ratings']);
  const bad = await api.call('GET', '/api/v1/services?labelSelector=' + encodeURIComponent('=x'));
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'L4MESH_ERR_BAD_REQUEST');
});

test('GET one object; a missing one is 404 naming it', async (t) => {
  const api = await startApi(t);
  await api.call('POST', '/apply', { body: BOOKINFO });
  const one = await api.call('GET', '/api/v1/namespaces/bookinfo/services/reviews');
  assert.equal(one.status, 200);
  assert.deepEqual(one.json, api.store.get('Service', 'bookinfo', 'reviews'));
  const ns = await api.call('GET', '/api/v1/namespaces/bookinfo');
  assert.deepEqual(ns.json, api.store.get('Namespace', '', 'bookinfo'));
  const missing = await api.call('GET', '/api/v1/namespaces/bookinfo/services/nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.json, { error: { code: 'L4MESH_ERR_NOT_FOUND', message: 'services "nope" not found in namespace "bookinfo"' } });
});

test('PUT creates (201) then configures or leaves unchanged (200), answering with the stored object', async (t) => {
  const api = await startApi(t);
  const path = '/apis/security.istio.io/v1/namespaces/bookinfo/peerauthentications/strict';
  const yaml = 'apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata:\n  name: strict\nspec:\n  mtls:\n    mode: STRICT\n';
  const created = await api.call('PUT', path, { body: yaml, headers: { 'content-type': 'application/yaml' } });
  assert.equal(created.status, 201);
  // The namespace comes from the URL when the body has none.
  assert.deepEqual(api.store.get('PeerAuthentication', 'bookinfo', 'strict'), created.json);
  assert.equal(created.json.apiVersion, 'security.istio.io/v1');
  assert.equal(created.json.metadata.resourceVersion, '1');

  const same = await api.call('PUT', path, { body: JSON.stringify({ ...created.json }), headers: { 'content-type': 'application/json' } });
  assert.equal(same.status, 200);
  assert.equal(same.json.metadata.resourceVersion, '1');
  const changed = await api.call('PUT', path, { body: yaml.replace('STRICT', 'PERMISSIVE') });
  assert.equal(changed.status, 200);
  assert.equal(changed.json.metadata.resourceVersion, '2');
  assert.equal(changed.json.metadata.generation, 2);
  assert.deepEqual(changed.json.spec, { mtls: { mode: 'PERMISSIVE' } });
});

test('PUT refuses a body whose kind, namespace or name differs from the URL, or that fails validation', async (t) => {
  const api = await startApi(t);
  const svc = (name: string, ns: string, port = 80) =>
    JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ port }] } });
  const cases: Array<[string, string, string, string]> = [
    ['/api/v1/namespaces/a/services/x', svc('y', 'a'), 'metadata.name', 'metadata.name "y" in the body does not match "x" in the URL'],
    ['/api/v1/namespaces/a/services/x', svc('x', 'b'), 'metadata.namespace', 'metadata.namespace "b" in the body does not match "a" in the URL'],
    ['/api/v1/namespaces/a/serviceaccounts/x', svc('x', 'a'), 'kind', 'kind "Service" in the body does not match "ServiceAccount" in the URL'],
  ];
  for (const [path, body, field, message] of cases) {
    const res = await api.call('PUT', path, { body });
    assert.equal(res.status, 400, path);
    assert.deepEqual(res.json, { error: { code: 'L4MESH_ERR_INVALID_RESOURCE', message, path: field } });
  }
  const invalid = await api.call('PUT', '/api/v1/namespaces/a/services/x', { body: svc('x', 'a', 0) });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.json.error.code, 'L4MESH_ERR_INVALID_RESOURCE');
  assert.equal(invalid.json.error.path, 'spec.ports[0].port');
  const unknownField = await api.call('PUT', '/api/v1/namespaces/a/services/x', {
    body: 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80}], bogus: 1}\n',
  });
  assert.equal(unknownField.status, 400);
  assert.equal(unknownField.json.error.path, 'spec.bogus');
  const two = await api.call('PUT', '/api/v1/namespaces/a/services/x', { body: `${svc('x', 'a')}\n---\n${svc('x', 'a')}\n` });
  assert.equal(two.status, 400);
  assert.equal(two.json.error.code, 'L4MESH_ERR_BAD_REQUEST');
  const badYaml = await api.call('PUT', '/api/v1/namespaces/a/services/x', { body: '{"kind": ' });
  assert.equal(badYaml.status, 400);
  assert.equal(badYaml.json.error.code, 'L4MESH_ERR_YAML');
  assert.deepEqual(api.store.list(), []);
});

test('DELETE answers the deleted object, then 404', async (t) => {
  const api = await startApi(t);
  await api.call('POST', '/apply', { body: BOOKINFO });
  const stored = api.store.get('Service', 'bookinfo', 'ratings')!;
  const res = await api.call('DELETE', '/api/v1/namespaces/bookinfo/services/ratings');
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, { ...stored, metadata: { ...stored.metadata, resourceVersion: '5' } });
  assert.equal(api.store.get('Service', 'bookinfo', 'ratings'), undefined);
  const again = await api.call('DELETE', '/api/v1/namespaces/bookinfo/services/ratings');
  assert.equal(again.status, 404);
  assert.equal(again.json.error.code, 'L4MESH_ERR_NOT_FOUND');
  const ns = await api.call('DELETE', '/api/v1/namespaces/bookinfo');
  assert.equal(ns.status, 200);
  assert.equal(ns.json.kind, 'Namespace');
});

test('wrong methods are 405 with Allow', async (t) => {
  const api = await startApi(t);
  const list = await api.call('POST', '/api/v1/namespaces/default/services', { body: '' });
  assert.equal(list.status, 405);
  assert.equal(list.headers['allow'], 'GET');
  const one = await api.call('PATCH', '/api/v1/namespaces/default/services/x', { body: '' });
  assert.equal(one.status, 405);
  assert.equal(one.headers['allow'], 'GET, PUT, DELETE');
  assert.equal(one.json.error.code, 'L4MESH_ERR_METHOD_NOT_ALLOWED');
});
