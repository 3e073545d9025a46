// Two replicas on one etcd share VIP allocations and node tokens: Services applied alternately (and at
// once) through both get unique VIPs that both replicas report identically; a node token created in
// etcd admits a proxy at either replica; replicas learn changes from the etcd watch, not by polling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/mesh.js';
import { etcdInstalled } from '../../support/etcd.js';
import { registryz, startReplicas } from '../../support/replicas.js';

const skip = etcdInstalled() ? false : 'etcd is not installed (apt-get install etcd-server; scripts/test-setup.mjs does it)';
const SERVICES = 24;
const VIP_RANGE = '127.250.33.0/24';

function serviceYaml(name: string): string {
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    app: ${name}\n  ports:\n  - name: tcp\n    port: 9000\n`;
}

/** Range (read) calls etcd served, from its own /metrics. */
async function etcdRangeCalls(clientUrl: string): Promise<number> {
  const text = await (await fetch(`${clientUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('grpc_server_handled_total{') && line.includes('grpc_method="Range"')) total += Number(line.split(' ').pop());
  }
  return total;
}

test('replicas on etcd never hand out one VIP twice and accept each other\'s node tokens', { skip, timeout: 240_000 }, async (t) => {
  const set = await startReplicas(t, { prefix: '127.250.30', etcdPort: 23810, vipRange: VIP_RANGE });
  const names = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
  // Pairs applied at the same moment, one through each replica: both compute "the lowest free address".
  for (let i = 0; i < names.length; i += 2) {
    const statuses = await Promise.all([0, 1].map(async (r) => (await set.api(r, '/apply', { method: 'POST', body: serviceYaml(names[i + r]!) })).status));
    assert.deepEqual(statuses, [200, 200]);
  }
  const complete = async (i: number) => {
    const z = await registryz(set, i);
    const mine = z.services.filter((s) => s.name.startsWith('svc-'));
    return mine.length === SERVICES && mine.every((s) => s.addresses.length === 1) ? z : undefined;
  };
  const [a, b] = await Promise.all([0, 1].map((i) => eventually(() => complete(i), 30_000, `every service with a VIP on replica ${i}`)));
  const vipsOf = (z: NonNullable<Awaited<ReturnType<typeof complete>>>) =>
    Object.fromEntries(z.services.filter((s) => s.name.startsWith('svc-')).map((s) => [s.name, s.addresses[0]!]));
  assert.deepEqual(vipsOf(a!), vipsOf(b!));
  const addresses = Object.values(vipsOf(a!));
  assert.equal(new Set(addresses).size, SERVICES, `unique VIPs: ${addresses.join(' ')}`);
  // The lowest free addresses, each once: .1 to .24 of the range.
  assert.deepEqual([...addresses].sort((x, y) => Number(x.split('.')[3]) - Number(y.split('.')[3])), names.map((_, i) => `127.250.33.${i + 1}`));
  assert.deepEqual(a!.vips, b!.vips);

  // Deleting services frees their addresses (the leader releases them); new services reuse them, still unique.
  const freed = names.slice(0, 4).map((n) => vipsOf(a!)[n]!).sort();
  for (const [i, n] of names.slice(0, 4).entries()) assert.equal((await set.api(i % 2, `/api/v1/namespaces/default/services/${n}`, { method: 'DELETE' })).status, 200);
  await eventually(async () => Object.keys((await registryz(set, 1)).vips).length === SERVICES - 4, 30_000, 'the deleted services\' VIPs released');
  const fresh = ['new-a', 'new-b', 'new-c', 'new-d'];
  await Promise.all(fresh.map(async (n, i) => assert.equal((await set.api(i % 2, '/apply', { method: 'POST', body: serviceYaml(n) })).status, 200)));
  const after = await Promise.all(
    [0, 1].map((i) =>
      eventually(async () => {
        const z = await registryz(set, i);
        return Object.keys(z.vips).length === SERVICES ? z.vips : undefined;
      }, 30_000, `replica ${i} with the new services' VIPs`),
    ),
  );
  assert.deepEqual(after[0], after[1]);
  assert.equal(new Set(Object.values(after[0]!)).size, SERVICES);
  // The freed addresses are the lowest free ones, so exactly they are handed out again.
  assert.deepEqual(fresh.map((n) => after[0]![`default/${n}.default.svc.cluster.local`]).sort(), freed);

  // A node token created in etcd (no replica involved) admits the node's proxy at both replicas.
  const token = set.createNodeToken('node-7');
  for (const [i, address] of set.addresses.entries()) {
    const xds = set.xdsClient(t, 'node-7', `127.250.31.${i + 1}`, token, `${address}:15012`);
    await eventually(() => xds.hasSynced(), 30_000, `xDS of node-7 synced at replica ${i}`);
    assert.equal(xds.snapshot().services.size, SERVICES);
  }

  // No polling: with nothing changing, the replicas send etcd no Range request (they follow one watch).
  const before = await etcdRangeCalls(set.etcd.members[0]!.clientUrl);
  // Each replica read everything once at start, so the counter exists and is not zero.
  assert.ok(before > 0, `etcd reports its Range calls (${before})`);
  // A measuring window, not a wait for a condition: polling at any period under 3 s would show here.
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal(await etcdRangeCalls(set.etcd.members[0]!.clientUrl), before);
});
