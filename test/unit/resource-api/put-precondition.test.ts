// A PUT carrying metadata.resourceVersion is refused with 409 L4MESH_ERR_CONFLICT when the object changed since.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApi } from './api-server.js';

const PATH = '/apis/security.istio.io/v1/namespaces/bookinfo/peerauthentications/strict';
const body = (mode: string, resourceVersion?: unknown): string =>
  JSON.stringify({
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'strict', namespace: 'bookinfo', ...(resourceVersion !== undefined ? { resourceVersion } : {}) },
    spec: { mtls: { mode } },
  });

test('a stale resourceVersion is 409 L4MESH_ERR_CONFLICT and changes nothing; the current one is accepted', async (t) => {
  const api = await startApi(t);
  assert.equal((await api.call('PUT', PATH, { body: body('STRICT') })).status, 201); // resourceVersion 1
  const second = await api.call('PUT', PATH, { body: body('PERMISSIVE') });
  assert.equal(second.json.metadata.resourceVersion, '2');
  let changes = 0;
  api.store.on('change', () => changes++);

  const stale = await api.call('PUT', PATH, { body: body('DISABLE', '1') });
  assert.equal(stale.status, 409);
  assert.deepEqual(stale.json, {
    error: {
      code: 'L4MESH_ERR_CONFLICT',
      message:
        'PeerAuthentication bookinfo/strict has been modified: it is at resourceVersion 2, the request was made against 1; get it again, reapply your change and retry',
    },
  });
  assert.deepEqual(api.store.get('PeerAuthentication', 'bookinfo', 'strict')?.spec, { mtls: { mode: 'PERMISSIVE' } });
  assert.equal(api.store.resourceVersion, '2');
  assert.equal(changes, 0);

  const current = await api.call('PUT', PATH, { body: body('DISABLE', '2') });
  assert.equal(current.status, 200);
  assert.equal(current.json.metadata.resourceVersion, '3');
  assert.deepEqual(current.json.spec, { mtls: { mode: 'DISABLE' } });
  assert.equal(changes, 1);

  // Without a resourceVersion the last writer wins, as before.
  const blind = await api.call('PUT', PATH, { body: body('STRICT') });
  assert.equal(blind.status, 200);
  assert.equal(blind.json.metadata.resourceVersion, '4');
});

test('a resourceVersion on an object that does not exist is 404; a non-string one is 400', async (t) => {
  const api = await startApi(t);
  const missing = await api.call('PUT', PATH, { body: body('STRICT', '7') });
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error.code, 'L4MESH_ERR_NOT_FOUND');
  assert.equal(api.store.get('PeerAuthentication', 'bookinfo', 'strict'), undefined);

  const bad = await api.call('PUT', PATH, { body: body('STRICT', { v: 1 }) });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json.error, {
    code: 'L4MESH_ERR_INVALID_RESOURCE',
    message: 'metadata.resourceVersion must be a string such as "12", got {"v":1}',
    path: 'metadata.resourceVersion',
  });
  assert.equal(api.store.resourceVersion, '0');
});

test('POST /apply ignores resourceVersion (kubectl apply of `get -o yaml` output keeps working)', async (t) => {
  const api = await startApi(t);
  await api.call('PUT', PATH, { body: body('STRICT') });
  await api.call('PUT', PATH, { body: body('PERMISSIVE') });
  const applied = await api.call('POST', '/apply', { body: body('DISABLE', '1') });
  assert.equal(applied.status, 200);
  assert.deepEqual(api.store.get('PeerAuthentication', 'bookinfo', 'strict')?.spec, { mtls: { mode: 'DISABLE' } });
});
