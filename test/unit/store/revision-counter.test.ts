// The file store's revision counter survives a reopen even when the newest version was a deletion,
// and a corrupt counter file stops the store naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ResourceStore } from '../../../src/controlplane/store/index.js';
import { service, tempStateDir } from './fixtures.js';

test('a reopened store continues after the last deletion, not after the newest file', async (t) => {
  const dir = await tempStateDir(t);
  const first = await ResourceStore.open(dir);
  await first.apply([service('a'), service('b')]);
  await first.deleteMany([
    { kind: 'Service', namespace: 'default', name: 'a' },
    { kind: 'Service', namespace: 'default', name: 'b' },
  ]);
  assert.equal(first.resourceVersion, '4');
  const second = await ResourceStore.open(dir);
  assert.equal(second.resourceVersion, '4');
  assert.deepEqual(await second.apply([service('c')]), [{ kind: 'Service', namespace: 'default', name: 'c', action: 'created' }]);
  assert.equal(second.get('Service', 'default', 'c')!.metadata.resourceVersion, '5');
});

test('a counter file that is not a number stops the store and names the file', async (t) => {
  const dir = await tempStateDir(t);
  await (await ResourceStore.open(dir)).apply([service('a')]);
  await writeFile(join(dir, 'resources', 'revision'), 'seven\n');
  await assert.rejects(ResourceStore.open(dir), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'L4MESH_ERR_STORE');
    assert.equal(
      err.message,
      `the store's revision ${join(dir, 'resources', 'revision')} holds "seven", not a decimal number; l4mesh writes it atomically, so it was edited outside l4mesh: write the highest resourceVersion any client has seen into it`,
    );
    return true;
  });
});
