// Two clients apply 500 Services alternately through two replicas on a 3-member etcd while one replica
// is SIGKILLed and restarted and then an etcd member is SIGKILLed: every acknowledged Service is stored
// exactly once, no VIP is handed out twice, revisions only grow, writes continue with a member down, and
// a watch from revision N sees every change after N exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/mesh.js';
import { etcdInstalled } from '../../support/etcd.js';
import { registryz, startReplicas, type ReplicaSet } from '../../support/replicas.js';
import { watchCollection, type WatchEvent } from '../../../src/controlplane/client/watch-client.js';

const skip = etcdInstalled() ? false : 'etcd is not installed (apt-get install etcd-server; scripts/test-setup.mjs does it)';
const RESOURCES = 500;
/** A write refused by both replicas (one dead, etcd electing) is tried again this often, this many times. */
const RETRY_DELAY_MS = 200;
const MAX_ROUNDS = 100;

function serviceYaml(name: string): string {
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    app: ${name}\n  ports:\n  - name: tcp\n    port: 8000\n`;
}

interface Client {
  acked: string[];
  /** Writes whose first attempt started after the etcd member was dead. */
  startedAfterMemberKill: number;
  /** Per replica, the store revision read right after each acknowledged write through it. */
  revisions: number[][];
  /** Writes that needed the other replica or another round (a dead replica, an etcd election). */
  retries: number;
}

/** The store's revision as replica `i` reports it (a list of an empty namespace costs nothing). */
async function revisionAt(set: ReplicaSet, i: number): Promise<number> {
  const r = await set.api(i, '/api/v1/namespaces/churn-empty/serviceaccounts');
  return Number(((await r.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
}

/** Applies `names` one by one, replica `first` then the other alternately; a refused write goes to the other replica, then is retried. */
async function runClient(set: ReplicaSet, names: string[], first: number, hooks: { gate: () => Promise<void>; memberDead: () => boolean; progress: () => void }): Promise<Client> {
  const client: Client = { acked: [], startedAfterMemberKill: 0, revisions: [[], []], retries: 0 };
  for (const [k, name] of names.entries()) {
    await hooks.gate();
    if (hooks.memberDead()) client.startedAfterMemberKill++;
    let done = false;
    for (let round = 0; round < MAX_ROUNDS && !done; round++) {
      for (const i of [(first + k) % 2, (first + k + 1) % 2]) {
        try {
          const r = await set.api(i, '/apply', { method: 'POST', body: serviceYaml(name) });
          await r.text();
          if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
        } catch {
          client.retries++;
          continue;
        }
        client.acked.push(name);
        done = true;
        // Outside the write's try: a replica killed right after acknowledging fails this read, and the
        // write must not then be made (and counted) a second time through the other replica.
        await revisionAt(set, i).then(
          (revision) => client.revisions[i]!.push(revision),
          () => undefined,
        );
        break;
      }
      if (!done) await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
    }
    assert.ok(done, `${name} was refused for ${MAX_ROUNDS} rounds`);
    hooks.progress();
  }
  return client;
}

test('500 applies through two replicas survive a replica kill and an etcd member kill', { skip, timeout: 300_000 }, async (t) => {
  const set = await startReplicas(t, { prefix: '127.250.60', etcdPort: 23840, etcdMembers: 3, vipRange: '127.250.64.0/22' });
  const start = await revisionAt(set, 1);
  const events: WatchEvent[] = [];
  const abort = new AbortController();
  t.after(() => abort.abort());
  void watchCollection({ address: `${set.addresses[1]}:15014`, token: set.adminToken, path: '/api/v1/services', resourceVersion: String(start), signal: abort.signal }, (e) => events.push(e)).catch(() => undefined);

  const names = Array.from({ length: RESOURCES }, (_, i) => `churn-${String(i).padStart(3, '0')}`);
  // At each milestone both clients pause before their next write until it is done (a kill has completed).
  let applied = 0;
  let gate: Promise<void> = Promise.resolve();
  let memberDead = false;
  const milestones: Array<{ at: number; what: () => Promise<void> }> = [
    { at: 100, what: async () => void (await set.procs[0]!.stop('SIGKILL')) },
    { at: 200, what: async () => void (await set.restart(0)) },
    {
      at: 300,
      what: async () => {
        await set.etcd.members[2]!.kill('SIGKILL');
        memberDead = true;
      },
    },
  ];
  const hooks = {
    gate: () => gate,
    memberDead: () => memberDead,
    progress: (): void => {
      applied++;
      for (const m of milestones) if (applied === m.at) gate = m.what();
    },
  };
  const clients = await Promise.all([
    runClient(set, names.filter((_, i) => i % 2 === 0), 0, hooks),
    runClient(set, names.filter((_, i) => i % 2 === 1), 1, hooks),
  ]);
  await gate;
  const acked = clients.flatMap((c) => c.acked).sort();
  assert.deepEqual(acked, names);
  // Writes went on with a member down: all but the one write at most that was in flight when the gate
  // closed started after the member was dead, and all were acknowledged (runClient asserts each).
  const afterKill = clients.reduce((n, c) => n + c.startedAfterMemberKill, 0);
  assert.ok(afterKill === RESOURCES - 300 || afterKill === RESOURCES - 301, `${afterKill} writes started after the member kill`);
  assert.notEqual(set.etcd.members[2]!.proc.signalCode, null);

  // Every acknowledged Service exactly once, on both replicas.
  for (const i of [0, 1]) {
    const items = await eventually(async () => {
      const r = await set.api(i, '/api/v1/namespaces/default/services');
      const list = ((await r.json()) as { items: Array<{ metadata: { name: string; resourceVersion: string } }> }).items.filter((s) => s.metadata.name.startsWith('churn-'));
      return list.length === RESOURCES ? list : undefined;
    }, 60_000, `all ${RESOURCES} services on replica ${i}`);
    assert.deepEqual(items.map((s) => s.metadata.name).sort(), names);
    assert.ok(items.every((s) => Number(s.metadata.resourceVersion) > start), `every service's resourceVersion above the start revision ${start}`);
  }

  // No VIP twice, and both replicas agree on every allocation.
  const vips = await Promise.all(
    [0, 1].map((i) =>
      eventually(async () => {
        const z = await registryz(set, i);
        const mine = z.services.filter((s) => s.name.startsWith('churn-'));
        return mine.length === RESOURCES ? Object.fromEntries(mine.map((s) => [s.name, s.addresses.join(',')])) : undefined;
      }, 60_000, `every VIP on replica ${i}`),
    ),
  );
  assert.deepEqual(vips[0], vips[1]);
  const addresses = Object.values(vips[0]!);
  assert.equal(addresses.filter((a) => /^127\.250\.6[4-7]\.\d+$/.test(a)).length, RESOURCES);
  assert.equal(new Set(addresses).size, RESOURCES);

  // Revisions only grow: through each replica, across its restart, each read was at least the one before.
  for (const c of clients) {
    for (const seq of c.revisions) for (let k = 1; k < seq.length; k++) assert.ok(seq[k]! >= seq[k - 1]!, `revision ${seq[k]} after ${seq[k - 1]}`);
  }
  const highest = Math.max(...clients.flatMap((c) => c.revisions.flat()));
  for (const i of [0, 1]) assert.ok((await revisionAt(set, i)) >= highest);

  // The watch from `start` saw each Service's creation exactly once, and nothing else.
  await eventually(() => events.length >= RESOURCES, 60_000, 'every watch event');
  const added = events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata.name).sort();
  assert.deepEqual(added, names);
  assert.equal(events.length, RESOURCES);
  t.diagnostic(`retried writes: ${clients.map((c) => c.retries).join(' + ')}`);
});
