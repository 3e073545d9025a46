// apply reports created / configured / unchanged exactly, and generation counts spec changes only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceStore } from '../../../src/controlplane/store/index.js';
import { pod, service, tempStateDir } from './fixtures.js';

test('apply reports created, then unchanged, then configured per resource', async (t) => {
  const store = await ResourceStore.open(await tempStateDir(t));
  assert.deepEqual(await store.apply([service('a'), service('b')]), [
    { kind: 'Service', namespace: 'default', name: 'a', action: 'created' },
    { kind: 'Service', namespace: 'default', name: 'b', action: 'created' },
  ]);
  assert.deepEqual(await store.apply([service('a'), service('b', 'default', 1)]), [
    { kind: 'Service', namespace: 'default', name: 'a', action: 'unchanged' },
    { kind: 'Service', namespace: 'default', name: 'b', action: 'configured' },
  ]);
  // An unchanged resource keeps its resourceVersion; the counter only moves for real writes.
  assert.equal(store.get('Service', 'default', 'a')!.metadata.resourceVersion, '1');
  assert.equal(store.get('Service', 'default', 'b')!.metadata.resourceVersion, '3');
  assert.equal(store.resourceVersion, '3');
});

test('a label or annotation change is configured without a new generation; a spec change bumps generation', async (t) => {
  const store = await ResourceStore.open(await tempStateDir(t));
  await store.apply([service('a')]);
  const [labelled] = await store.apply([service('a', 'default', 9080, { team: 'x' })]);
  assert.equal(labelled!.action, 'configured');
  assert.equal(store.get('Service', 'default', 'a')!.metadata.generation, 1);
  const annotated = service('a', 'default', 9080, { team: 'x' });
  annotated.metadata.annotations = { note: 'hello' };
  assert.equal((await store.apply([annotated]))[0]!.action, 'configured');
  assert.equal(store.get('Service', 'default', 'a')!.metadata.generation, 1);
  const respecced = { ...annotated, spec: { ...annotated.spec, ports: [{ name: 'tcp', port: 1, targetPort: 1 }] } };
  assert.equal((await store.apply([respecced]))[0]!.action, 'configured');
  assert.equal(store.get('Service', 'default', 'a')!.metadata.generation, 2);
  assert.equal(store.get('Service', 'default', 'a')!.metadata.resourceVersion, '4');
});

test('empty labels equal absent labels; server fields in the input are ignored', async (t) => {
  const store = await ResourceStore.open(await tempStateDir(t));
  await store.apply([service('a')]);
  const stored = store.get('Service', 'default', 'a')!;
  const again = service('a', 'default', 9080, {});
  again.metadata.uid = 'forged';
  again.metadata.resourceVersion = '999';
  assert.equal((await store.apply([again]))[0]!.action, 'unchanged');
  const changed = service('a', 'default', 7, {});
  changed.metadata.uid = 'forged';
  changed.metadata.creationTimestamp = '2000-01-01T00:00:00Z';
  changed.metadata.generation = 40;
  await store.apply([changed]);
  const after = store.get('Service', 'default', 'a')!;
  assert.equal(after.metadata.uid, stored.metadata.uid);
  assert.equal(after.metadata.creationTimestamp, stored.metadata.creationTimestamp);
  assert.equal(after.metadata.generation, 2);
  assert.equal(after.metadata.resourceVersion, '2');
});

test('a Pod status change is configured (the runtime reports IPs that way); other kinds ignore status', async (t) => {
  const store = await ResourceStore.open(await tempStateDir(t));
  await store.apply([pod('p')]);
  assert.equal((await store.apply([pod('p', '127.0.1.5')]))[0]!.action, 'configured');
  assert.deepEqual(store.get('Pod', 'default', 'p')!.status, { phase: 'Running', podIP: '127.0.1.5' });
  assert.equal(store.get('Pod', 'default', 'p')!.metadata.generation, 1);
  assert.equal((await store.apply([pod('p', '127.0.1.5')]))[0]!.action, 'unchanged');

  await store.apply([service('s')]);
  assert.equal((await store.apply([{ ...service('s'), status: { loadBalancer: {} } }]))[0]!.action, 'unchanged');
});

test('the same object twice in one apply: the second is compared with the first', async (t) => {
  const store = await ResourceStore.open(await tempStateDir(t));
  assert.deepEqual(
    (await store.apply([service('a'), service('a'), service('a', 'default', 1)])).map((r) => r.action),
    ['created', 'unchanged', 'configured'],
  );
  assert.equal(store.get('Service', 'default', 'a')!.metadata.generation, 2);
  assert.equal((await ResourceStore.open(store.stateDir)).get('Service', 'default', 'a')!.spec!.ports instanceof Array, true);
});

test('put returns the action and the stored object', async (t) => {
  const store = await ResourceStore.open(await tempStateDir(t));
  const created = await store.put(service('a'));
  assert.equal(created.action, 'created');
  assert.equal(created.resource, store.get('Service', 'default', 'a'));
  const unchanged = await store.put(service('a'));
  assert.equal(unchanged.action, 'unchanged');
  assert.equal(unchanged.resource, created.resource);
  assert.equal((await store.put(service('a', 'default', 2))).action, 'configured');
});

test('a top-level desired-state field outside spec (ServiceAccount automountServiceAccountToken) counts as a change', async (t) => {
  const store = await ResourceStore.open(await tempStateDir(t));
  const sa = (automount?: boolean) => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'bookinfo-reviews', namespace: 'default' },
    ...(automount === undefined ? {} : { automountServiceAccountToken: automount }),
  });
  assert.equal((await store.apply([sa()]))[0]!.action, 'created');
  assert.equal((await store.apply([sa()]))[0]!.action, 'unchanged');
  assert.equal((await store.apply([sa(false)]))[0]!.action, 'configured');
  assert.equal(store.get('ServiceAccount', 'default', 'bookinfo-reviews')!.metadata.generation, 2);
});
