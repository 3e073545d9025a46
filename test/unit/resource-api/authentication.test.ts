// Every resource API request needs the admin token; without it nothing is read or changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOOKINFO, startApi } from './api-server.js';

const UNAUTHENTICATED = {
  error: {
    code: 'L4MESH_ERR_UNAUTHENTICATED',
    message: 'missing or wrong admin token: send "Authorization: Bearer <token>" with the token from <state dir>/admin.token',
  },
};

test('requests without the token or with a wrong one get 401 and change nothing', async (t) => {
  const api = await startApi(t);
  await api.store.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'keep' } }]);
  const wrong = api.token.slice(0, -1) + (api.token.endsWith('0') ? '1' : '0');
  const attempts: Array<[string, string, string | undefined]> = [
    ['POST', '/apply', BOOKINFO],
    ['POST', '/delete', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: keep}\n'],
    ['DELETE', '/api/v1/namespaces/keep', undefined],
    ['PUT', '/api/v1/namespaces/other', '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"other"}}'],
    ['GET', '/api/v1/namespaces', undefined],
    ['GET', '/apis/nothing.example/v1/things', undefined],
  ];
  for (const token of [null, wrong, '', `${api.token}x`]) {
    for (const [method, path, body] of attempts) {
      const res = await api.call(method, path, { token, ...(body !== undefined ? { body } : {}) });
      assert.equal(res.status, 401, `${method} ${path} with token ${JSON.stringify(token)}`);
      assert.equal(res.headers['www-authenticate'], 'Bearer');
      assert.deepEqual(res.json, UNAUTHENTICATED);
    }
  }
  const basic = await api.call('GET', '/api/v1/namespaces', { token: null, headers: { authorization: `Basic ${api.token}` } });
  assert.equal(basic.status, 401);
  assert.deepEqual(api.store.list().map((r) => r.metadata.name), ['keep']);
  assert.equal(api.store.resourceVersion, '1');
});

test('paths that are not the resource API are left to the caller without authentication', async (t) => {
  const api = await startApi(t);
  for (const path of ['/ready', '/metrics', '/debug/config_dump?proxyID=a.b', '/apifoo', '/applyx']) {
    const res = await api.call('GET', path, { token: null });
    assert.equal(res.status, 418, path);
    assert.equal(res.text, 'not the resource api');
  }
});
