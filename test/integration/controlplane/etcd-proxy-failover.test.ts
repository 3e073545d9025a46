// A node proxy given two replicas (--control-plane A,B) streams from A; when A is SIGKILLed it resumes at
// B with the versions it holds (Delta xDS initial_resource_versions), and a change applied through B
// meanwhile reaches it within 5 s while B sends it nothing but that change; certificates come from B; with
// etcd down writes are refused (503) while the proxy keeps its config and keeps forwarding, and it converges
// when etcd returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCli, stateDirFor } from '../../support/processes.js';
import { eventually, podYaml, PROCESS_START_TIMEOUT_MS } from '../../support/mesh.js';
import { etcdInstalled } from '../../support/etcd.js';
import { startReplicas } from '../../support/replicas.js';
import { CaClient } from '../../../src/identity/ca-client.js';
import { fetchCapture } from '../../../src/localrun/node-admin.js';
import { roundTrip, startNamedEcho } from '../../support/workloads.js';

const skip = etcdInstalled() ? false : 'etcd is not installed (apt-get install etcd-server; scripts/test-setup.mjs does it)';
/** What the issue asks: a change made while the proxy's replica is dead reaches it within this. */
const CHANGE_LIMIT_MS = 5_000;
const NODE_ADDRESS = '127.250.51.1';

interface Dump {
  xds: { connectedTo: string | null };
  services: Array<{ name: string; addresses: string[] }>;
  workloads: Array<{ name: string }>;
}
interface Sync {
  proxy: string;
  pushes: number;
  resourcesSent: number;
}

function serviceYaml(name: string): string {
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    app: ${name}\n  ports:\n  - name: tcp\n    port: 9000\n`;
}

test('a node proxy fails over to the other replica and receives only what changed', { skip, timeout: 240_000 }, async (t) => {
  const set = await startReplicas(t, { prefix: '127.250.50', etcdPort: 23830, vipRange: '127.250.53.0/24' });
  const [a, b] = set.addresses.map((x) => `${x}:15012`) as [string, string];
  const { dir, own } = await stateDirFor(t, 'l4mesh-failover-proxy-');
  const nodeToken = set.createNodeToken('node-1');
  await writeFile(join(dir, 'node-1.token'), nodeToken + '\n', { mode: 0o600 });
  await writeFile(join(dir, 'root-cert.pem'), set.rootPem);
  const apply = async (i: number, yaml: string) => assert.equal((await set.api(i, '/apply', { method: 'POST', body: yaml })).status, 200);
  await apply(0, serviceYaml('before') + '---\n' + podYaml({ name: 'before-v1', ip: '127.250.52.5', node: 'node-1', labels: { app: 'before' } }));

  const proxy = own(startCli([
    'ztunnel', '--node', 'node-1', '--address', NODE_ADDRESS, '--control-plane', `${a},${b}`,
    '--token-file', join(dir, 'node-1.token'), '--root-cert', join(dir, 'root-cert.pem'), '--state-dir', dir,
    '--capture-range', '127.250.56.0/22', '--drain-duration', '1s',
  ]));
  await proxy.waitFor(/node proxy started/, PROCESS_START_TIMEOUT_MS);
  const dump = async (): Promise<Dump> => (await (await fetch(`http://${NODE_ADDRESS}:15000/config_dump`)).json()) as Dump;
  const atA = await eventually(async () => {
    const d = await dump();
    return d.xds.connectedTo === a && d.services.some((s) => s.name === 'before') && d.workloads.some((w) => w.name === 'ztunnel-node-1') ? d : undefined;
  }, 30_000, 'the proxy streaming from A with service "before"');
  const beforeVip = atA.services.find((s) => s.name === 'before')!.addresses;
  assert.equal(beforeVip.length, 1);

  // A dies; the proxy resumes at B. A change applied through B must reach it within the limit.
  await set.procs[0]!.stop('SIGKILL');
  await eventually(async () => (await dump()).xds.connectedTo === b, 20_000, 'the proxy streaming from B');
  await apply(1, serviceYaml('after'));
  const appliedAt = Date.now();
  const atB = await eventually(async () => {
    const d = await dump();
    return d.services.some((s) => s.name === 'after' && s.addresses.length === 1) ? d : undefined;
  }, 20_000, 'service "after" at the proxy');
  const tookMs = Date.now() - appliedAt;
  t.diagnostic(`the change reached the proxy ${tookMs} ms after the apply through B`);
  assert.ok(tookMs < CHANGE_LIMIT_MS, `the change reached the proxy ${tookMs} ms after the apply (limit ${CHANGE_LIMIT_MS} ms)`);
  assert.deepEqual(atB.services.map((s) => s.name).sort(), ['after', 'before']);
  assert.deepEqual(atB.services.find((s) => s.name === 'before')!.addresses, beforeVip);
  assert.deepEqual(atB.workloads.map((w) => w.name).sort(), atA.workloads.map((w) => w.name).sort());

  // What B sent on the resumed stream: the one new Service, nothing the proxy already held.
  const syncs = (await (await fetch(`http://${set.addresses[1]}:15014/debug/syncz`)).json()) as Sync[];
  const mine = syncs.filter((s) => s.proxy === 'ztunnel-node-1.istio-system');
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.resourcesSent, 1);
  assert.match(proxy.output(), new RegExp(`connected to the control plane.*${b.replace(/\./g, '\\.')}`));

  // Certificates renew from any replica: a CA client given both, A first and dead, gets one from B.
  const ca = new CaClient({ address: `${a},${b}`, rootCertPem: set.rootPem, token: nodeToken });
  t.after(() => ca.close());
  const cert = await ca.requestCertificate('spiffe://cluster.local/ns/default/sa/default');
  assert.equal(cert.identity, 'spiffe://cluster.local/ns/default/sa/default');
  assert.equal(cert.rootPem.trim(), set.rootPem.trim());

  // etcd entirely down: B refuses writes with 503 and stores nothing; the proxy keeps its config, stays
  // ready and forwards; once etcd is back a write through B reaches it.
  const echo = await startNamedEcho('127.250.52.5', 9000, 'before-v1');
  t.after(() => echo.close());
  const mapping = (await fetchCapture(NODE_ADDRESS)).find((m) => m.workload === 'before-v1' && m.service === 'before');
  assert.ok(mapping, 'node-1 has an outbound listener for before-v1 → before');
  await set.etcd.members[0]!.kill('SIGKILL');
  const refused = await set.api(1, '/apply', { method: 'POST', body: serviceYaml('during') });
  assert.equal(refused.status, 503);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'L4MESH_ERR_STORE_UNAVAILABLE');
  const held = await dump();
  assert.deepEqual([held.xds.connectedTo, held.services.map((s) => s.name).sort()], [b, ['after', 'before']]);
  assert.equal((await fetch(`http://${NODE_ADDRESS}:15021/healthz/ready`)).status, 200);
  // A connection through the mesh while etcd is down: before-v1 → its service's outbound listener on
  // node-1 → the workload at its pod IP, byte-exact.
  const echoed = await roundTrip(mapping.listenAddress, mapping.listenPort, 'sent while etcd is down');
  assert.equal(echoed.toString(), 'before-v1\nsent while etcd is down');
  assert.equal(echo.accepted, 1);
  await set.etcd.members[0]!.restart();
  await eventually(async () => (await set.api(1, '/apply', { method: 'POST', body: serviceYaml('back') })).status === 200, 30_000, 'an apply after etcd is back');
  const converged = await eventually(async () => {
    const d = await dump();
    return d.services.some((s) => s.name === 'back' && s.addresses.length === 1) ? d : undefined;
  }, 20_000, 'service "back" at the proxy');
  assert.deepEqual(converged.services.map((s) => s.name).sort(), ['after', 'back', 'before']);
  assert.equal((await set.api(1, '/api/v1/namespaces/default/services/during')).status, 404);
});
