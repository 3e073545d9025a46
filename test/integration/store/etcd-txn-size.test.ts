// A write is one etcd transaction: larger than the control plane's --etcd-max-txn-ops it is refused before
// anything is sent, larger than etcd's own --max-txn-ops it is refused by etcd; either way 413's code,
// a message saying what to do, and nothing written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdStore } from '../../../src/controlplane/store/etcd-store.js';
import type { Resource } from '../../../src/api/types.js';
import { L4meshError } from '../../../src/errors/index.js';
import { etcdInstalled, startEtcd } from '../../support/etcd.js';

const ADDRESS = '127.250.11.1';
const skip = etcdInstalled() ? false : 'etcd is not installed (apt-get install etcd-server; scripts/test-setup.mjs does it)';

const services = (n: number, prefix: string): Resource[] =>
  Array.from({ length: n }, (_, i) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: `${prefix}-${i}`, namespace: 'default' }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } }));

function refused(err: unknown, pattern: RegExp): boolean {
  assert.ok(err instanceof L4meshError, String(err));
  assert.equal(err.code, 'L4MESH_ERR_TOO_MANY_DOCUMENTS');
  assert.match(err.message, pattern);
  assert.match(err.message, /Nothing was written: apply the manifests in parts, or raise etcd's --max-txn-ops/);
  return true;
}

test('writes beyond the transaction limits are refused whole, by the store or by etcd', { skip, timeout: 120_000 }, async (t) => {
  // etcd itself takes at most 5 operations per transaction here.
  const etcd = await startEtcd(ADDRESS, 23800, 1, ['--max-txn-ops', '5']);
  t.after(() => etcd.stop());
  const endpoints = [etcd.members[0]!.clientUrl];
  const strict = await EtcdStore.open({ endpoints, maxTxnOps: 3 });
  const trusting = await EtcdStore.open({ endpoints, maxTxnOps: 100 });
  t.after(async () => {
    await strict.close();
    await trusting.close();
  });

  await assert.rejects(strict.apply(services(4, 'a')), (err) => refused(err, /^cannot apply the resources: the 4 resources are written as one etcd transaction \(all or nothing\), and the control plane allows 3 per transaction \(--etcd-max-txn-ops\)\./));
  await assert.rejects(trusting.apply(services(6, 'b')), (err) => refused(err, /^cannot apply the resources: the 6 resources are written as one etcd transaction \(all or nothing\), and etcd refused it: .*too many operations in txn request/));
  assert.deepEqual([strict.list('Service').length, trusting.list('Service').length], [0, 0]);

  // Within both limits the same store writes, and a delete counts the same way.
  assert.equal((await strict.apply(services(3, 'c'))).filter((r) => r.action === 'created').length, 3);
  assert.equal((await trusting.apply(services(5, 'd'))).filter((r) => r.action === 'created').length, 5);
  const all = trusting.list('Service').map((r) => ({ kind: 'Service', namespace: 'default', name: r.metadata.name }));
  assert.equal(all.length, 8);
  await assert.rejects(trusting.deleteMany(all), (err) => refused(err, /^cannot delete the resources: the 8 resources .*etcd refused it/));
  assert.equal(trusting.list('Service').length, 8);
});
