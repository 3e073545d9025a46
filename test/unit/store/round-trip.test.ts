// The store keeps resources on disk one file each and reloads them unchanged, counter and uids included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ResourceStore } from '../../../src/controlplane/store/index.js';
import { namespaceObject, service, tempStateDir, withoutServerFields } from './fixtures.js';

const FIXED_NOW = new Date('2026-03-04T05:06:07.890Z');

test('applied resources are stored one JSON file each under resources/<plural>/<namespace>/', async (t) => {
  const dir = await tempStateDir(t);
  const store = await ResourceStore.open(dir, { now: () => FIXED_NOW });
  await store.apply([service('reviews', 'bookinfo'), namespaceObject('bookinfo')]);

  const file = JSON.parse(await readFile(join(dir, 'resources/services/bookinfo/reviews.json'), 'utf8'));
  assert.deepEqual(store.get('Service', 'bookinfo', 'reviews'), file);
  assert.deepEqual(withoutServerFields(file), service('reviews', 'bookinfo'));
  assert.equal(file.metadata.resourceVersion, '1');
  assert.equal(file.metadata.generation, 1);
  assert.equal(file.metadata.creationTimestamp, '2026-03-04T05:06:07Z');
  assert.match(file.metadata.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

  const ns = JSON.parse(await readFile(join(dir, 'resources/namespaces/_cluster/bookinfo.json'), 'utf8'));
  assert.equal(ns.metadata.resourceVersion, '2');
  assert.equal(ns.metadata.namespace, undefined);
  // Besides one directory per kind: the revision counter, so a restart never reuses a resourceVersion.
  assert.deepEqual((await readdir(join(dir, 'resources'))).sort(), ['namespaces', 'revision', 'services']);
  assert.equal(await readFile(join(dir, 'resources/revision'), 'utf8'), '2\n');
});

test('reopening the store restores every resource, its uid and the resourceVersion counter', async (t) => {
  const dir = await tempStateDir(t);
  const first = await ResourceStore.open(dir);
  await first.apply([service('b'), service('a'), service('c', 'other'), namespaceObject('other')]);
  await first.apply([service('a', 'default', 9999)]);
  const before = first.list();
  assert.equal(first.resourceVersion, '5');

  const second = await ResourceStore.open(dir);
  assert.deepEqual(second.list(), before);
  assert.equal(second.resourceVersion, '5');
  const uidBefore = second.get('Service', 'default', 'b')!.metadata.uid;
  const createdBefore = second.get('Service', 'default', 'b')!.metadata.creationTimestamp;

  const [result] = await second.apply([service('b', 'default', 1)]);
  assert.deepEqual(result, { kind: 'Service', namespace: 'default', name: 'b', action: 'configured' });
  const b = second.get('Service', 'default', 'b')!;
  assert.equal(b.metadata.resourceVersion, '6');
  assert.equal(b.metadata.uid, uidBefore);
  assert.equal(b.metadata.creationTimestamp, createdBefore);
  assert.equal(b.metadata.generation, 2);
});

test('list filters by kind and namespace and sorts by namespace then name', async (t) => {
  const dir = await tempStateDir(t);
  const store = await ResourceStore.open(dir);
  await store.apply([service('z', 'b-ns'), service('y', 'a-ns'), service('x', 'b-ns'), namespaceObject('a-ns')]);
  const names = (rs: { metadata: { namespace?: string; name: string } }[]) => rs.map((r) => `${r.metadata.namespace ?? ''}/${r.metadata.name}`);
  assert.deepEqual(names(store.list('Service')), ['a-ns/y', 'b-ns/x', 'b-ns/z']);
  assert.deepEqual(names(store.list('Service', 'b-ns')), ['b-ns/x', 'b-ns/z']);
  assert.deepEqual(names(store.list()), ['/a-ns', 'a-ns/y', 'b-ns/x', 'b-ns/z']);
  assert.deepEqual(names(store.list('Namespace', '')), ['/a-ns']);
  assert.deepEqual(store.list('Pod'), []);
});

test('delete removes the file and returns the object; deleting a missing object returns undefined', async (t) => {
  const dir = await tempStateDir(t);
  const store = await ResourceStore.open(dir);
  await store.apply([service('ratings')]);
  const deleted = await store.delete('Service', 'default', 'ratings');
  assert.equal(deleted?.metadata.name, 'ratings');
  assert.equal(deleted?.metadata.resourceVersion, '2');
  assert.deepEqual(await readdir(join(dir, 'resources/services/default')), []);
  assert.equal(store.get('Service', 'default', 'ratings'), undefined);
  assert.equal(await store.delete('Service', 'default', 'ratings'), undefined);
  assert.deepEqual((await ResourceStore.open(dir)).list(), []);
});

test('stored objects are frozen so a reader cannot change the store by accident', async (t) => {
  const store = await ResourceStore.open(await tempStateDir(t));
  const input = service('frozen');
  await store.apply([input]);
  const stored = store.get('Service', 'default', 'frozen')!;
  assert.throws(() => {
    (stored.spec as Record<string, unknown>).selector = {};
  }, TypeError);
  // The caller's object is copied, not captured.
  (input.spec as Record<string, unknown>).selector = { app: 'changed' };
  assert.deepEqual(store.get('Service', 'default', 'frozen')!.spec!.selector, { app: 'frozen' });
});

test('names that could leave the resource directory are refused before anything is written', async (t) => {
  const dir = await tempStateDir(t);
  const store = await ResourceStore.open(dir);
  for (const [name, ns] of [['../escape', 'default'], ['.hidden', 'default'], ['ok', '../x'], ['ok', '']]) {
    await assert.rejects(store.apply([service('fine'), service(name!, ns!)]), { code: 'L4MESH_ERR_INVALID_RESOURCE' });
  }
  await assert.rejects(store.apply([{ ...namespaceObject('n'), metadata: { name: 'n', namespace: 'default' } }]), {
    code: 'L4MESH_ERR_INVALID_RESOURCE',
  });
  await assert.rejects(store.apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' } }]), {
    code: 'L4MESH_ERR_UNKNOWN_KIND',
  });
  assert.deepEqual(store.list(), []);
  assert.deepEqual(await readdir(dir), []);
});
