import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from '../../../src/controlplane/registry/registry.js';
import { FakeInput, pod, service } from './fake-input.js';

test('an unrelated change keeps unchanged objects (and unchanged collections) as the same references', () => {
  const input = new FakeInput([
    pod('a', 'default', { ip: '127.10.0.1', labels: { app: 'a' } }),
    pod('b', 'default', { ip: '127.10.0.2', labels: { app: 'b' } }),
    service('a', 'default', { selector: { app: 'a' }, ports: [{ port: 80 }] }),
  ]);
  const reg = new Registry(input);
  const before = reg.current();
  const a = before.workloads.get('Kubernetes//Pod/default/a')!;
  const b = before.workloads.get('Kubernetes//Pod/default/b')!;
  const svc = before.services.get('default/a.default.svc.cluster.local')!;
  assert.equal(Object.isFrozen(a), true);

  input.put(pod('b', 'default', { ip: '127.10.0.2', labels: { app: 'b', version: 'v2' } }));
  assert.equal(reg.recompute(), true);
  const after = reg.current();
  assert.equal(after.workloads.get('Kubernetes//Pod/default/a'), a);
  assert.notEqual(after.workloads.get('Kubernetes//Pod/default/b'), b);
  assert.equal(after.workloads.get('Kubernetes//Pod/default/b')!.canonicalRevision, 'v2');
  assert.equal(after.services.get('default/a.default.svc.cluster.local'), svc);
  assert.equal(after.services, before.services);
  assert.equal(after.authorizations, before.authorizations);

  // Rewriting a resource with identical content changes nothing: same snapshot, no event.
  input.put(pod('a', 'default', { ip: '127.10.0.1', labels: { app: 'a' } }));
  assert.equal(reg.recompute(), false);
  assert.equal(reg.current(), after);
  reg.close();
});

test('a burst of store changes produces one recompute and one change event; no-op changes produce none', async () => {
  const input = new FakeInput();
  const reg = new Registry(input, { debounceMs: 20 });
  let events = 0;
  reg.on('change', () => events++);
  for (let i = 0; i < 5; i++) input.put(pod(`p${i}`, 'default', { ip: `127.10.0.${i + 1}` }));
  assert.equal(events, 0);
  for (let i = 0; i < 50 && events === 0; i++) await sleep(10);
  await sleep(60);
  assert.equal(events, 1);
  assert.equal(reg.current().workloads.size, 5);

  input.put(pod('p0', 'default', { ip: '127.10.0.1' }));
  await sleep(80);
  assert.equal(events, 1);

  input.remove('Pod', 'default', 'p4');
  for (let i = 0; i < 50 && events === 1; i++) await sleep(10);
  assert.equal(events, 2);
  assert.equal(reg.current().workloads.size, 4);

  reg.close();
  input.put(pod('late', 'default', { ip: '127.10.0.99' }));
  await sleep(60);
  assert.equal(events, 2);
});
