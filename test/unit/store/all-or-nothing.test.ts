// A call whose write fails leaves files, memory and events as they were before the call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ResourceStore, durableFiles, resourceFile, type DurableFiles, type StoreChangeEvent } from '../../../src/controlplane/store/index.js';
import { service, tempStateDir } from './fixtures.js';

/** Real file operations, except that the write/remove number `failAt` (1-based) throws EIO. */
function failingFiles(failAt: number): DurableFiles & { calls: string[] } {
  const calls: string[] = [];
  const fail = (file: string) => {
    calls.push(file);
    if (calls.length === failAt) throw Object.assign(new Error(`EIO: i/o error, write '${file}'`), { code: 'EIO' });
  };
  return {
    calls,
    async writeAtomic(file, data, mode) {
      fail(file);
      await durableFiles.writeAtomic(file, data, mode);
    },
    async remove(file) {
      fail(file);
      await durableFiles.remove(file);
    },
  };
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[p.slice(dir.length)] = await readFile(p, 'utf8');
    }
  };
  await walk(dir);
  return out;
}

test('apply failing at its third write restores the two files it had written and emits nothing', async (t) => {
  const dir = await tempStateDir(t);
  const seed = await ResourceStore.open(dir);
  await seed.apply([service('a'), service('b')]);
  const before = await snapshot(dir);

  const files = failingFiles(3);
  const store = await ResourceStore.open(dir, { files });
  const events: StoreChangeEvent[] = [];
  store.on('change', (e) => events.push(e));
  const listBefore = store.list();

  await assert.rejects(store.apply([service('a', 'default', 1), service('new'), service('b', 'default', 2)]), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'L4MESH_ERR_STORE');
    assert.match(err.message, /EIO: i\/o error/);
    assert.match(err.message, /nothing was changed/);
    return true;
  });
  // 3 planned writes (the third failed), then a restore of each of the three: a write that fails after its
  // rename (the directory fsync) has already replaced the file, so the failed target is restored too.
  const fileOf = (name: string) => resourceFile(dir, { kind: 'Service', namespace: 'default', name });
  assert.deepEqual(files.calls, [fileOf('a'), fileOf('new'), fileOf('b'), fileOf('a'), fileOf('new'), fileOf('b')]);
  assert.deepEqual(await snapshot(dir), before);
  assert.deepEqual(store.list(), listBefore);
  assert.equal(store.resourceVersion, '2');
  assert.deepEqual(events, []);

  // The store keeps working and the counter continues where it was.
  assert.deepEqual((await store.apply([service('new')]))[0]!.action, 'created');
  assert.equal(store.get('Service', 'default', 'new')!.metadata.resourceVersion, '3');
});

test('deleteMany failing at its second removal puts the first file back', async (t) => {
  const dir = await tempStateDir(t);
  await (await ResourceStore.open(dir)).apply([service('a'), service('b')]);
  const before = await snapshot(dir);
  const store = await ResourceStore.open(dir, { files: failingFiles(2) });
  const events: StoreChangeEvent[] = [];
  store.on('change', (e) => events.push(e));
  await assert.rejects(
    store.deleteMany([
      { kind: 'Service', namespace: 'default', name: 'a' },
      { kind: 'Service', namespace: 'default', name: 'b' },
    ]),
    { code: 'L4MESH_ERR_STORE' },
  );
  assert.deepEqual(await snapshot(dir), before);
  assert.equal(store.list().length, 2);
  assert.deepEqual(events, []);
});

test('when even the restore fails the error says so and tells the operator to restart', async (t) => {
  const dir = await tempStateDir(t);
  const files: DurableFiles = {
    async writeAtomic(file) {
      throw new Error(`ENOSPC: no space left on device, write '${file}'`);
    },
    remove: durableFiles.remove,
  };
  const store = await ResourceStore.open(dir, { files });
  await assert.rejects(store.apply([service('a')]), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'L4MESH_ERR_STORE');
    assert.match(err.message, /ENOSPC/);
    return true;
  });
  assert.deepEqual(store.list(), []);
});
