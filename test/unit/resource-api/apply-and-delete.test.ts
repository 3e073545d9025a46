// POST /apply and POST /delete take multi-document YAML and report one result per object, all or nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { BOOKINFO, startApi } from './api-server.js';

test('POST /apply reports created, then unchanged and configured, and stores validated objects', async (t) => {
  const api = await startApi(t);
  const first = await api.call('POST', '/apply', { body: BOOKINFO, headers: { 'content-type': 'application/yaml' } });
  assert.equal(first.status, 200);
  assert.deepEqual(first.json, {
    results: [
      { kind: 'Namespace', namespace: '', name: 'bookinfo', action: 'created' },
      { kind: 'Service', namespace: 'bookinfo', name: 'reviews', action: 'created' },
      { kind: 'Service', namespace: 'bookinfo', name: 'ratings', action: 'created' },
      { kind: 'DestinationRule', namespace: 'bookinfo', name: 'reviews', action: 'created' },
    ],
  });
  // v1beta1 in the manifest is stored as v1.
  assert.equal(api.store.get('DestinationRule', 'bookinfo', 'reviews')!.apiVersion, 'networking.istio.io/v1');

  const second = await api.call('POST', '/apply', { body: BOOKINFO.replace('port: 9080', 'port: 9081'), headers: { 'content-type': 'text/plain' } });
  assert.deepEqual(
    second.json.results.map((r: { action: string }) => r.action),
    ['unchanged', 'configured', 'unchanged', 'unchanged'],
  );
  assert.deepEqual(api.store.get('Service', 'bookinfo', 'reviews')!.spec!.ports, [{ name: 'http', port: 9081 }]);
});

test('one bad document in a multi-document apply is a 400 with its field path and nothing is stored', async (t) => {
  const api = await startApi(t);
  const bad = BOOKINFO + '---\napiVersion: v1\nkind: Service\nmetadata:\n  name: broken\nspec:\n  ports:\n  - port: 70000\n';
  const res = await api.call('POST', '/apply', { body: bad });
  assert.equal(res.status, 400);
  assert.deepEqual(res.json, {
    error: {
      code: 'L4MESH_ERR_INVALID_RESOURCE',
      message: 'document 5: Service/broken: spec.ports[0].port: must be between 1 and 65535, got 70000',
      path: 'spec.ports[0].port',
    },
  });
  assert.deepEqual(api.store.list(), []);
  assert.deepEqual(await readdir(api.stateDir), ['admin.token']);
});

test('bad YAML and unknown kinds in /apply are 400 with their codes', async (t) => {
  const api = await startApi(t);
  const yamlErr = await api.call('POST', '/apply', { body: 'kind: [1,\n' });
  assert.equal(yamlErr.status, 400);
  assert.equal(yamlErr.json.error.code, 'L4MESH_ERR_YAML');
  assert.match(yamlErr.json.error.message, /^document 1: line \d+, column \d+: /);
  const unknown = await api.call('POST', '/apply', { body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.json.error.code, 'L4MESH_ERR_UNKNOWN_KIND');
  assert.deepEqual(api.store.list(), []);
});

test('POST /delete deletes the listed objects and reports missing ones as notfound', async (t) => {
  const api = await startApi(t);
  await api.call('POST', '/apply', { body: BOOKINFO });
  const body = `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec: {ports: [{port: 1}]}
---
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: bookinfo}
spec: {ports: [{port: 1}]}
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec: {host: reviews}
`;
  const res = await api.call('POST', '/delete', { body });
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, {
    results: [
      { kind: 'Service', namespace: 'bookinfo', name: 'reviews', action: 'deleted' },
      { kind: 'Service', namespace: 'bookinfo', name: 'productpage', action: 'notfound' },
      { kind: 'DestinationRule', namespace: 'bookinfo', name: 'reviews', action: 'deleted' },
    ],
  });
  assert.deepEqual(
    api.store.list().map((r) => `${r.kind}/${r.metadata.name}`),
    ['Namespace/bookinfo', 'Service/ratings'],
  );
});

test('/apply and /delete only take POST', async (t) => {
  const api = await startApi(t);
  for (const path of ['/apply', '/delete']) {
    const res = await api.call('GET', path);
    assert.equal(res.status, 405);
    assert.equal(res.headers['allow'], 'POST');
    assert.equal(res.json.error.code, 'L4MESH_ERR_METHOD_NOT_ALLOWED');
  }
});
