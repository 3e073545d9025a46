// The store emits exactly one 'change' event per call that changed something, listing every change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceStore, type StoreChangeEvent } from '../../../src/controlplane/store/index.js';
import { namespaceObject, service, tempStateDir } from './fixtures.js';

function summary(e: StoreChangeEvent): string[] {
  return e.changes.map((c) => `${c.type} ${c.resource.kind}/${c.resource.metadata.namespace ?? ''}/${c.resource.metadata.name}@${c.resource.metadata.resourceVersion}`);
}

test('apply, put, delete and deleteMany each emit one event with exactly their changes', async (t) => {
  const store = await ResourceStore.open(await tempStateDir(t));
  const events: StoreChangeEvent[] = [];
  store.on('change', (e: StoreChangeEvent) => events.push(e));

  await store.apply([service('a'), namespaceObject('ns1'), service('b')]);
  await store.apply([service('a'), service('b', 'default', 1)]); // a unchanged
  await store.apply([service('a')]); // nothing changed: no event
  await store.put(service('c'));
  await store.put(service('c')); // unchanged: no event
  await store.delete('Service', 'default', 'c');
  await store.delete('Service', 'default', 'missing'); // nothing deleted: no event
  await store.deleteMany([
    { kind: 'Service', namespace: 'default', name: 'a' },
    { kind: 'Service', namespace: 'default', name: 'gone' },
    { kind: 'Namespace', namespace: '', name: 'ns1' },
  ]);

  assert.deepEqual(events.map(summary), [
    ['put Service/default/a@1', 'put Namespace//ns1@2', 'put Service/default/b@3'],
    ['put Service/default/b@4'],
    ['put Service/default/c@5'],
    ['delete Service/default/c@6'],
    ['delete Service/default/a@7', 'delete Namespace//ns1@8'],
  ]);
  // Events carry the same frozen objects that get() returns.
  assert.equal(events[1]!.changes[0]!.resource, store.get('Service', 'default', 'b'));
  assert.equal(store.resourceVersion, '8');
});

test('listeners see the store already updated when the event fires', async (t) => {
  const store = await ResourceStore.open(await tempStateDir(t));
  const seen: Array<string | undefined> = [];
  store.on('change', () => seen.push(store.get('Service', 'default', 'a')?.metadata.resourceVersion));
  await store.apply([service('a')]);
  await store.delete('Service', 'default', 'a');
  assert.deepEqual(seen, ['1', undefined]);
});

test('concurrent calls are serialized: each call sees the writes of the calls queued before it', async (t) => {
  const store = await ResourceStore.open(await tempStateDir(t));
  const events: StoreChangeEvent[] = [];
  store.on('change', (e: StoreChangeEvent) => events.push(e));
  const calls = [];
  for (let i = 0; i < 20; i++) calls.push(store.apply([service('a', 'default', 1000 + i), service(`s${i}`)]));
  const results = await Promise.all(calls);
  assert.deepEqual(results[0]!.map((r) => r.action), ['created', 'created']);
  for (let i = 1; i < 20; i++) assert.deepEqual(results[i]!.map((r) => r.action), ['configured', 'created']);
  // Versions are handed out in call order with no gaps or interleaving.
  assert.deepEqual(
    events.map((e) => e.changes.map((c) => c.resource.metadata.resourceVersion)),
    Array.from({ length: 20 }, (_, i) => [String(2 * i + 1), String(2 * i + 2)]),
  );
  assert.deepEqual(store.get('Service', 'default', 'a')!.spec!.ports, [{ name: 'tcp', port: 1019, targetPort: 1019 }]);
  const reopened = await ResourceStore.open(store.stateDir);
  assert.deepEqual(reopened.list(), store.list());
});
