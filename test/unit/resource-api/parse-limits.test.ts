// What one request body may cost the resource API: each limit refused with its status and code, nothing
// stored, and the next request served normally (the parse worker is replaced after a time-out or OOM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorResponse } from '../../../src/controlplane/api/http-errors.js';
import { MAX_BODY_BYTES } from '../../../src/controlplane/api/index.js';
import {
  ALIAS_BOMB,
  ALIAS_BOMB_MESSAGE,
  DEEP_NESTING,
  DEEP_NESTING_MESSAGE,
  TOO_MANY_DOCUMENTS_MESSAGE,
  hugeFlowSequence,
  manyTinyDocuments,
} from '../api/hostile-manifests.js';
import { BOOKINFO, startApi, type ApiFixture } from './api-server.js';

async function assertStillServes(api: ApiFixture): Promise<void> {
  assert.deepEqual(api.store.list(), []);
  const ok = await api.call('POST', '/apply', { body: BOOKINFO });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.results.length, 4);
}

test('an alias bomb is 400 L4MESH_ERR_YAML_TOO_MANY_ALIASES with the reason, on /apply, /delete and PUT', async (t) => {
  const api = await startApi(t);
  for (const [method, path] of [
    ['POST', '/apply'],
    ['POST', '/delete'],
    ['PUT', '/api/v1/namespaces/default/services/lol'],
  ] as const) {
    const res = await api.call(method, path, { body: ALIAS_BOMB });
    assert.equal(res.status, 400, `${method} ${path}`);
    assert.deepEqual(res.json, { error: { code: 'L4MESH_ERR_YAML_TOO_MANY_ALIASES', message: ALIAS_BOMB_MESSAGE } }, `${method} ${path}`);
  }
  await assertStillServes(api);
});

test('100,000 nested "[" is 400 L4MESH_ERR_YAML_TOO_DEEP naming the limit', async (t) => {
  const api = await startApi(t);
  const res = await api.call('POST', '/apply', { body: DEEP_NESTING });
  assert.equal(res.status, 400);
  assert.deepEqual(res.json, { error: { code: 'L4MESH_ERR_YAML_TOO_DEEP', message: DEEP_NESTING_MESSAGE } });
  await assertStillServes(api);
});

test('1.5 million tiny documents (13.5 MB) are 413 L4MESH_ERR_TOO_MANY_DOCUMENTS', async (t) => {
  const api = await startApi(t);
  const body = manyTinyDocuments();
  assert.ok(body.length < MAX_BODY_BYTES);
  const res = await api.call('POST', '/apply', { body });
  assert.equal(res.status, 413);
  assert.deepEqual(res.json, { error: { code: 'L4MESH_ERR_TOO_MANY_DOCUMENTS', message: TOO_MANY_DOCUMENTS_MESSAGE } });
  await assertStillServes(api);
});

test('a body that parses longer than the time limit is 413 L4MESH_ERR_PARSE_TIMEOUT', async (t) => {
  // 16 MiB of one flow sequence takes well over 20 s to parse; a 1.5 s limit keeps the test short.
  const api = await startApi(t, undefined, { timeoutMs: 1_500 });
  const res = await api.call('POST', '/apply', { body: hugeFlowSequence(MAX_BODY_BYTES) });
  assert.equal(res.status, 413);
  assert.deepEqual(res.json, {
    error: {
      code: 'L4MESH_ERR_PARSE_TIMEOUT',
      message: 'parsing the request body took longer than 1500 ms, the most one request may take; split the manifests into several applies',
    },
  });
  await assertStillServes(api);
});

test('a body whose parse needs more heap than the limit is 413 L4MESH_ERR_PARSE_MEMORY', async (t) => {
  // The same 16 MiB needs gigabytes of syntax tree; 64 MiB is reached long before a 5-minute time limit.
  const api = await startApi(t, undefined, { maxHeapMb: 64, timeoutMs: 300_000 });
  const res = await api.call('POST', '/apply', { body: hugeFlowSequence(MAX_BODY_BYTES) });
  assert.equal(res.status, 413);
  assert.deepEqual(res.json, {
    error: {
      code: 'L4MESH_ERR_PARSE_MEMORY',
      message: 'parsing the request body needed more than 64 MiB of memory, the most one request may use; split the manifests into several applies',
    },
  });
  await assertStillServes(api);
});

test('a body with NUL bytes or invalid UTF-8 is 400 L4MESH_ERR_NOT_TEXT', async (t) => {
  const api = await startApi(t);
  const nul = await api.call('POST', '/apply', { body: Buffer.from('apiVersion: v1\0kind: Service\n') });
  assert.equal(nul.status, 400);
  assert.deepEqual(nul.json, {
    error: { code: 'L4MESH_ERR_NOT_TEXT', message: 'request body: is not a YAML or JSON manifest: it holds a NUL byte at offset 14 (a binary file?)' },
  });
  const latin1 = await api.call('POST', '/apply', { body: Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]) });
  assert.equal(latin1.status, 400);
  assert.equal(latin1.json.error.code, 'L4MESH_ERR_NOT_TEXT');
  await assertStillServes(api);
});

test('an error nobody anticipated is 500 L4MESH_ERR_INTERNAL, not blamed on the store', () => {
  assert.deepEqual(errorResponse(new TypeError('x is undefined')), {
    status: 500,
    headers: {},
    body: {
      error: {
        code: 'L4MESH_ERR_INTERNAL',
        message: "internal error in the control plane's resource API: x is undefined; check the control plane's log",
      },
    },
  });
});

test('requests sent at once are parsed one after another and each gets its own answer', async (t) => {
  const api = await startApi(t);
  const bad = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: "nope"\n';
  const answers = await Promise.all([
    api.call('POST', '/apply', { body: ALIAS_BOMB }),
    api.call('POST', '/apply', { body: bad }),
    api.call('POST', '/apply', { body: BOOKINFO }),
    api.call('POST', '/apply', { body: DEEP_NESTING }),
  ]);
  assert.deepEqual(
    answers.map((a) => [a.status, a.json.error?.code ?? 'ok']),
    [
      [400, 'L4MESH_ERR_YAML_TOO_MANY_ALIASES'],
      [400, 'L4MESH_ERR_INVALID_RESOURCE'],
      [200, 'ok'],
      [400, 'L4MESH_ERR_YAML_TOO_DEEP'],
    ],
  );
  assert.equal(answers[1]!.json.error.path, 'spec.ports[0].port');
});
