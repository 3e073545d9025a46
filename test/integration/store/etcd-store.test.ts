// The etcd store against a real etcd: resourceVersion is etcd's revision, a second replica learns every
// write through its watch, a stale update is L4MESH_ERR_CONFLICT, racing writers lose nothing, and an
// unreachable etcd is L4MESH_ERR_STORE_UNAVAILABLE with nothing half-applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdStore } from '../../../src/controlplane/store/etcd-store.js';
import type { Resource } from '../../../src/api/types.js';
import type { StoreChangeEvent, WatchEvent } from '../../../src/controlplane/store/index.js';
import { etcdInstalled, startEtcd } from '../../support/etcd.js';
import { eventually } from '../../support/mesh.js';

const ADDRESS = '127.250.10.1';
const skip = etcdInstalled() ? false : 'etcd is not installed (apt-get install etcd-server; scripts/test-setup.mjs does it)';

function service(name: string, port = 80): Resource {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { selector: { app: name }, ports: [{ port }] } };
}

test('etcd store: revisions, a second replica, conflicts, races, and etcd down', { skip, timeout: 240_000 }, async (t) => {
  const etcd = await startEtcd(ADDRESS, 23790);
  t.after(() => etcd.stop());
  const endpoints = [etcd.members[0]!.clientUrl];
  const a = await EtcdStore.open({ endpoints });
  const b = await EtcdStore.open({ endpoints });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const base = Number(a.resourceVersion);
  const bChanges: string[] = [];
  b.on('change', (e: StoreChangeEvent) => bChanges.push(e.changes.map((c) => `${c.type}${c.created ? '+' : ''} ${c.resource.metadata.name} ${Number(c.resource.metadata.resourceVersion) - base}`).join(',')));

  // One apply is one transaction: one revision for all its objects.
  assert.deepEqual(await a.apply([service('x'), service('y')]), [
    { kind: 'Service', namespace: 'default', name: 'x', action: 'created' },
    { kind: 'Service', namespace: 'default', name: 'y', action: 'created' },
  ]);
  assert.equal(a.get('Service', 'default', 'x')!.metadata.resourceVersion, String(base + 1));
  assert.equal(a.resourceVersion, String(base + 1));
  assert.deepEqual(await a.apply([service('x')]), [{ kind: 'Service', namespace: 'default', name: 'x', action: 'unchanged' }]);
  const x2 = await a.put(service('x', 81));
  assert.equal(x2.action, 'configured');
  assert.equal(x2.resource.metadata.resourceVersion, String(base + 2));
  assert.equal(x2.resource.metadata.generation, 2);
  const deleted = await a.delete('Service', 'default', 'y');
  assert.equal(deleted!.metadata.resourceVersion, String(base + 3));

  // The other replica learned all of it through its watch, one change event per transaction.
  await eventually(() => b.resourceVersion === String(base + 3), 20_000, 'replica b at the last revision');
  assert.deepEqual(bChanges, ['put+ x 1,put+ y 1', 'put x 2', 'delete y 3']);
  assert.deepEqual(b.list().map((r) => [r.metadata.name, r.metadata.resourceVersion, r.metadata.uid]), [['x', String(base + 2), x2.resource.metadata.uid]]);
  const fromB: WatchEvent[] = [];
  b.watch(base, (e) => fromB.push(e))();
  assert.deepEqual(fromB.map((e) => [e.type, e.object.metadata.name, Number(e.object.metadata.resourceVersion) - base]), [
    ['ADDED', 'x', 1],
    ['ADDED', 'y', 1],
    ['MODIFIED', 'x', 2],
    ['DELETED', 'y', 3],
  ]);

  // A stale update (based on revision base+1, the object is now at base+2) is refused on either replica.
  for (const store of [a, b]) {
    await assert.rejects(store.put(service('x', 99), String(base + 1)), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'L4MESH_ERR_CONFLICT');
      assert.equal(err.message, `Service default/x has been modified: it is at resourceVersion ${base + 2}, the request was made against ${base + 1}; get it again, reapply your change and retry`);
      return true;
    });
  }
  assert.equal((await b.put(service('x', 82), String(base + 2))).resource.metadata.resourceVersion, String(base + 4));

  // Racing replicas: 40 writes each to the same 5 objects and 20 new ones each; nothing is lost.
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < 40; i++) {
    writes.push(a.apply([service(`shared-${i % 5}`, 1000 + i)]), b.apply([service(`shared-${i % 5}`, 2000 + i)]));
    if (i < 20) writes.push(a.apply([service(`a-${i}`)]), b.apply([service(`b-${i}`)]));
  }
  await Promise.all(writes);
  await eventually(() => a.resourceVersion === b.resourceVersion && a.list().length === 46, 20_000, 'both replicas converged');
  assert.deepEqual(b.list().map((r) => r.metadata.name), a.list().map((r) => r.metadata.name));
  assert.equal(a.list().filter((r) => /^[ab]-\d+$/.test(r.metadata.name)).length, 40);

  // Two replicas creating the same object at once: exactly one creates it, the other's compare fails,
  // it sees the winner through its watch and updates it (never a second "created" of one object).
  for (let i = 0; i < 10; i++) {
    const [ra, rb] = await Promise.all([a.apply([service(`dup-${i}`, 1)]), b.apply([service(`dup-${i}`, 2)])]);
    assert.deepEqual([ra[0]!.action, rb[0]!.action].sort(), ['configured', 'created'], `dup-${i}`);
  }
  await eventually(() => a.resourceVersion === b.resourceVersion, 20_000, 'both replicas converged again');

  // etcd down: a write fails with 503's code, naming the endpoint; nothing is applied.
  const before = a.list().map((r) => `${r.metadata.name}@${r.metadata.resourceVersion}`);
  await etcd.members[0]!.kill('SIGKILL');
  const started = Date.now();
  await assert.rejects(a.apply([service('while-down'), service('x', 7)]), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'L4MESH_ERR_STORE_UNAVAILABLE');
    assert.match(err.message, new RegExp(`^cannot apply the resources: etcd at http://${ADDRESS.replace(/\./g, '\\.')}:23790 did not answer \\(`));
    return true;
  });
  assert.ok(Date.now() - started < 15_000, `the failure took ${Date.now() - started} ms`);
  await etcd.members[0]!.restart();
  assert.deepEqual(a.list().map((r) => `${r.metadata.name}@${r.metadata.resourceVersion}`), before);
  // Back: writes work again and both replicas' watches resume.
  await eventually(async () => (await a.apply([service('after')]))[0]!.action === 'created', 30_000, 'a write after etcd is back');
  await eventually(() => b.get('Service', 'default', 'after') !== undefined, 30_000, 'replica b sees the write after etcd is back');
  assert.equal(b.get('Service', 'default', 'while-down'), undefined);
});
