// Opening a store deletes temp files a crash left behind and names any file it cannot use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ResourceStore } from '../../../src/controlplane/store/index.js';
import { service, tempStateDir } from './fixtures.js';

test('stray temp files are deleted at open and the previous version is kept', async (t) => {
  const dir = await tempStateDir(t);
  await (await ResourceStore.open(dir)).apply([service('a')]);
  const servicesDir = join(dir, 'resources/services/default');
  await writeFile(join(servicesDir, 'a.json.tmp-12345-7'), '{"half": ');
  await writeFile(join(servicesDir, 'b.json.tmp-1-1'), '');
  const store = await ResourceStore.open(dir);
  assert.deepEqual(await readdir(servicesDir), ['a.json']);
  assert.deepEqual(store.list().map((r) => r.metadata.name), ['a']);
});

test('a file that is not JSON fails open with an error naming the file', async (t) => {
  const dir = await tempStateDir(t);
  await (await ResourceStore.open(dir)).apply([service('a')]);
  const file = join(dir, 'resources/services/default/a.json');
  await writeFile(file, '{"kind": "Service", "metad');
  await assert.rejects(ResourceStore.open(dir), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'L4MESH_ERR_STORE');
    assert.ok(err.message.startsWith(`stored resource ${file} is not valid JSON`), err.message);
    return true;
  });
});

test('a file whose content does not match its path fails open naming both', async (t) => {
  const dir = await tempStateDir(t);
  const nsDir = join(dir, 'resources/services/prod');
  await mkdir(nsDir, { recursive: true });
  const file = join(nsDir, 'a.json');
  await writeFile(file, JSON.stringify(service('b', 'prod')));
  await assert.rejects(ResourceStore.open(dir), {
    code: 'L4MESH_ERR_STORE',
    message: `stored resource ${file} holds Service/prod/b but its path says Service/prod/a; the file was moved or edited outside l4mesh, move it back or delete it`,
  });
});

test('an empty or missing state directory opens as an empty store', async (t) => {
  const dir = await tempStateDir(t);
  const store = await ResourceStore.open(join(dir, 'not-yet'));
  assert.deepEqual(store.list(), []);
  assert.equal(store.resourceVersion, '0');
});
