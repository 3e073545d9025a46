// Two control-plane processes on one etcd (--store etcd): they share the admin token and root CA; an
// apply through one shows in the other's API, watch and xDS; etcd down is 503 with nothing applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startCli, stateDirFor } from '../../support/processes.js';
import { eventually, podYaml, PROCESS_START_TIMEOUT_MS } from '../../support/mesh.js';
import { etcdInstalled, startEtcd } from '../../support/etcd.js';
import { XdsClient } from '../../../src/dataplane/xds/client.js';
import { createEtcdNodeToken } from '../../../src/controlplane/ca/etcd-node-tokens.js';
import { connectEtcd } from '../../../src/controlplane/store/etcd-connection.js';
import { watchCollection, type WatchEvent } from '../../../src/controlplane/client/watch-client.js';

const ETCD_ADDRESS = '127.250.20.1';
const REPLICAS = ['127.250.20.10', '127.250.20.11'];
const SERVER_NAME = { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc', 'grpc.default_authority': 'istiod.istio-system.svc' };
const skip = etcdInstalled() ? false : 'etcd is not installed (apt-get install etcd-server; scripts/test-setup.mjs does it)';

test('two control-plane replicas on one etcd serve the same state', { skip, timeout: 240_000 }, async (t) => {
  const etcd = await startEtcd(ETCD_ADDRESS, 23800);
  t.after(() => etcd.stop());
  const etcdClient = connectEtcd(etcd.endpoints.split(','));
  t.after(() => etcdClient.close());
  const states = await Promise.all(REPLICAS.map(() => stateDirFor(t, 'l4mesh-replica-')));
  const dirs = states.map((s) => s.dir);
  // One at a time, so the first creates the shared CA and the second adopts it.
  const replicas = [];
  for (const [i, address] of REPLICAS.entries()) {
    const cp = states[i]!.own(startCli(['control-plane', '--state-dir', dirs[i]!, '--address', address, '--vip-range', '127.250.23.0/24', '--store', 'etcd', '--etcd-endpoints', etcd.endpoints]));
    await cp.waitFor(/control plane ready/, PROCESS_START_TIMEOUT_MS);
    replicas.push(cp);
  }
  assert.match(replicas[0]!.output(), /stored this replica's root CA and admin token in etcd/);
  assert.match(replicas[1]!.output(), /using the root CA and admin token from etcd/);
  const [tokenA, tokenB] = await Promise.all(dirs.map(async (d) => (await readFile(join(d, 'admin.token'), 'utf8')).trim()));
  assert.equal(tokenA, tokenB);
  const [rootA, rootB] = await Promise.all(dirs.map((d) => readFile(join(d, 'ca', 'root-cert.pem'), 'utf8')));
  assert.equal(rootA, rootB);
  const api = (i: number, path: string, init: RequestInit = {}) => fetch(`http://${REPLICAS[i]}:15014${path}`, { ...init, headers: { authorization: `Bearer ${tokenA}` } });
  const listVersion = async (i: number) => ((await (await api(i, '/api/v1/pods')).json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;

  // A watch on B started before the apply on A.
  const before = await listVersion(1);
  const events: WatchEvent[] = [];
  const abort = new AbortController();
  t.after(() => abort.abort());
  void watchCollection({ address: `${REPLICAS[1]}:15014`, token: tokenA, path: '/api/v1/pods', resourceVersion: before, signal: abort.signal }, (e) => events.push(e)).catch(() => undefined);

  const apply = await api(0, '/apply', {
    method: 'POST',
    body:
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: ratings\nspec:\n  selector:\n    app: ratings\n  ports:\n  - name: http\n    port: 9080\n---\n` +
      podYaml({ name: 'ratings-v1', ip: '127.250.21.5', node: 'node-1', labels: { app: 'ratings', version: 'v1' }, serviceAccount: 'ratings' }),
  });
  assert.equal(apply.status, 200);
  const onA = (await (await api(0, '/api/v1/namespaces/default/pods/ratings-v1')).json()) as { metadata: { resourceVersion: string; uid: string } };
  const onB = await eventually(async () => {
    const r = await api(1, '/api/v1/namespaces/default/pods/ratings-v1');
    return r.status === 200 ? ((await r.json()) as typeof onA) : undefined;
  }, 20_000, 'the pod on replica B');
  assert.deepEqual(onB.metadata, onA.metadata);
  // etcd's revision also counts writes outside the resources (the shared CA), so only the order is known.
  assert.ok(Number(onA.metadata.resourceVersion) > Number(before), `${onA.metadata.resourceVersion} > ${before}`);
  await eventually(() => events.length >= 1, 20_000, 'the watch event on B');
  assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion]), [['ADDED', 'ratings-v1', onA.metadata.resourceVersion]]);

  // B's xDS serves the pod applied through A, over TLS signed by the shared root.
  // Node tokens live in etcd too: one created there (as `token create --store etcd` does) admits the proxy at B.
  const nodeToken = await createEtcdNodeToken(etcdClient, etcd.endpoints.split(','), 'node-1');
  const xds = new XdsClient({
    address: `${REPLICAS[1]}:15012`,
    credentials: grpc.credentials.createSsl(Buffer.from(rootA)),
    channelOptions: SERVER_NAME,
    nodeId: 'ztunnel~127.250.21.1~ztunnel-node-1.istio-system~istio-system.svc.cluster.local',
    metadata: { authorization: `Bearer ${nodeToken}` },
    backoff: { initialMs: 10, maxMs: 200 },
  });
  xds.start();
  t.after(() => xds.stop());
  const workload = await eventually(() => xds.snapshot().workloads.get('Kubernetes//Pod/default/ratings-v1'), 20_000, 'the workload over B\'s xDS');
  assert.deepEqual(workload.addresses, ['127.250.21.5']);

  // etcd down: A answers 503 naming etcd; after etcd returns the rejected apply is absent on both.
  await etcd.members[0]!.kill('SIGKILL');
  const down = await api(0, '/apply', { method: 'POST', body: `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: during-outage\n` });
  assert.equal(down.status, 503);
  const body = (await down.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'L4MESH_ERR_STORE_UNAVAILABLE');
  assert.match(body.error.message, new RegExp(`^cannot apply the resources: etcd at ${etcd.endpoints.replace(/\./g, '\\.')} did not answer`));
  // Reads keep working from memory meanwhile.
  assert.equal((await api(1, '/api/v1/namespaces/default/pods/ratings-v1')).status, 200);
  await etcd.members[0]!.restart();
  await eventually(async () => (await api(1, '/apply', { method: 'POST', body: `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: after-outage\n` })).status === 200, 30_000, 'an apply after etcd is back');
  await eventually(async () => (await api(0, '/api/v1/namespaces/default/serviceaccounts/after-outage')).status === 200, 30_000, 'replica A sees it');
  for (const i of [0, 1]) assert.equal((await api(i, '/api/v1/namespaces/default/serviceaccounts/during-outage')).status, 404);
});
