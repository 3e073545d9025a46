// --store / --etcd-endpoints: file is the default and needs no etcd; etcd needs client URLs; bad values
// fail naming the flag or variable they came from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controlPlaneConfig } from '../../../src/controlplane/config.js';

const NO_ENV = {};

function configError(values: Record<string, string>, env: Record<string, string> = NO_ENV): string {
  try {
    controlPlaneConfig(values, env);
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'L4MESH_ERR_CONFIG');
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

test('the file store is the default and takes no etcd endpoints', () => {
  const c = controlPlaneConfig({ 'state-dir': '/tmp/x' }, NO_ENV);
  assert.equal(c.store, 'file');
  assert.deepEqual(c.etcdEndpoints, []);
  assert.equal(configError({ 'etcd-endpoints': 'http://127.0.0.1:2379' }), '--etcd-endpoints is given but the store is "file"; add --store etcd to keep the state in etcd');
});

test('--store etcd takes the endpoints from the flag or L4MESH_ETCD_ENDPOINTS', () => {
  assert.deepEqual(controlPlaneConfig({ store: 'etcd', 'etcd-endpoints': 'http://127.0.0.1:2379, http://127.0.0.2:2379' }, NO_ENV).etcdEndpoints, [
    'http://127.0.0.1:2379',
    'http://127.0.0.2:2379',
  ]);
  const fromEnv = controlPlaneConfig({}, { L4MESH_STORE: 'etcd', L4MESH_ETCD_ENDPOINTS: 'https://10.0.0.1:2379' });
  assert.equal(fromEnv.store, 'etcd');
  assert.deepEqual(fromEnv.etcdEndpoints, ['https://10.0.0.1:2379']);
});

test('bad store values name what was wrong', () => {
  assert.equal(configError({ store: 'postgres' }), '--store: "postgres" is not a store; use file or etcd');
  assert.equal(configError({}, { L4MESH_STORE: 'zk' }), 'L4MESH_STORE: "zk" is not a store; use file or etcd');
  assert.equal(
    configError({ store: 'etcd' }),
    '--store etcd needs --etcd-endpoints (or L4MESH_ETCD_ENDPOINTS): the etcd client URLs, e.g. http://127.0.0.1:2379',
  );
  assert.equal(configError({ store: 'etcd', 'etcd-endpoints': '127.0.0.1:2379' }), '--etcd-endpoints: "127.0.0.1:2379" is not an etcd client URL such as http://127.0.0.1:2379');
  assert.equal(configError({ store: 'etcd', 'etcd-endpoints': ' , ' }), '--etcd-endpoints: give at least one etcd client URL, e.g. http://127.0.0.1:2379');
});

test("--etcd-max-txn-ops defaults to etcd's default of 128 and takes the flag or L4MESH_ETCD_MAX_TXN_OPS", () => {
  assert.equal(controlPlaneConfig({}, NO_ENV).etcdMaxTxnOps, 128);
  assert.equal(controlPlaneConfig({ 'etcd-max-txn-ops': '10000' }, NO_ENV).etcdMaxTxnOps, 10_000);
  assert.equal(controlPlaneConfig({}, { L4MESH_ETCD_MAX_TXN_OPS: '512' }).etcdMaxTxnOps, 512);
  assert.equal(configError({ 'etcd-max-txn-ops': '0' }), `--etcd-max-txn-ops: "0" is not a positive number of operations (etcd's --max-txn-ops, default 128)`);
  assert.equal(configError({}, { L4MESH_ETCD_MAX_TXN_OPS: 'many' }), `L4MESH_ETCD_MAX_TXN_OPS: "many" is not a positive number of operations (etcd's --max-txn-ops, default 128)`);
});
