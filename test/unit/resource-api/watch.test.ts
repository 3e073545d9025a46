// GET <collection>?watch=1&resourceVersion=N streams exactly the changes after N, in order, filtered to
// the collection; N older than the kept history is 410 Gone; the client's watch reads the same stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceStore, ensureAdminToken } from '../../../src/controlplane/store/index.js';
import { createResourceApiHandler } from '../../../src/controlplane/api/index.js';
import { watchCollection, WatchError, type WatchEvent } from '../../../src/controlplane/client/watch-client.js';

const SERVICES = '/api/v1/namespaces/default/services';
const EVENT_TIMEOUT_MS = 20_000;

function svc(name: string, port = 80, namespace = 'default'): string {
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n  labels:\n    app: ${name}\nspec:\n  selector:\n    app: ${name}\n  ports:\n  - port: ${port}\n`;
}

async function setup(t: { after(fn: () => Promise<void> | void): void }, watchHistoryEvents?: number) {
  const stateDir = await mkdtemp(join(tmpdir(), 'l4mesh-watch-'));
  const store = await ResourceStore.open(stateDir, watchHistoryEvents ? { watchHistoryEvents } : {});
  const token = await ensureAdminToken(stateDir);
  const handle = createResourceApiHandler(store, { adminToken: token });
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const aborts: AbortController[] = [];
  t.after(async () => {
    for (const a of aborts) a.abort();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(stateDir, { recursive: true, force: true });
  });
  const apply = async (yaml: string) => {
    const res = await fetch(`http://${address}/apply`, { method: 'POST', body: yaml, headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, await res.clone().text());
    return res.json();
  };
  const del = async (path: string) => assert.equal((await fetch(`http://${address}${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status, 200);
  /** Opens a watch; `next(n)` resolves with the first n events as [type, name, resourceVersion]. */
  const watch = (path: string, resourceVersion?: string, labelSelector?: string) => {
    const abort = new AbortController();
    aborts.push(abort);
    const events: WatchEvent[] = [];
    const waiters: Array<() => void> = [];
    const ended = watchCollection({ address, token, path, resourceVersion, labelSelector, signal: abort.signal }, (e) => {
      events.push(e);
      for (const w of waiters.splice(0)) w();
    });
    const next = async (n: number) => {
      const deadline = Date.now() + EVENT_TIMEOUT_MS;
      while (events.length < n && Date.now() < deadline) {
        await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 200)), ended]);
      }
      return events.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion]);
    };
    return { next, ended, events, abort };
  };
  return { store, token, address, apply, del, watch };
}

test('a watch from N replays every change after N in order, then streams new ones', async (t) => {
  const api = await setup(t);
  await api.apply(svc('a') + '---\n' + svc('b')); // 1, 2
  await api.apply(svc('a', 81)); // 3
  await api.del(`${SERVICES}/b`); // 4
  const w = api.watch(SERVICES, '1');
  assert.deepEqual(await w.next(3), [
    ['ADDED', 'b', '2'],
    ['MODIFIED', 'a', '3'],
    ['DELETED', 'b', '4'],
  ]);
  await api.apply(svc('c') + '---\n' + svc('other', 80, 'prod')); // 5 (default/c), 6 (prod/other: not in this collection)
  await api.apply(`apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: reviews\n`); // 7: another kind
  await api.apply(svc('c', 82)); // 8
  assert.deepEqual(await w.next(5), [
    ['ADDED', 'b', '2'],
    ['MODIFIED', 'a', '3'],
    ['DELETED', 'b', '4'],
    ['ADDED', 'c', '5'],
    ['MODIFIED', 'c', '8'],
  ]);
  // The deleted object is the stored one, at the deletion's version.
  assert.deepEqual(w.events[2]!.object.spec, { selector: { app: 'b' }, ports: [{ port: 80 }] });
});

test('a watch without resourceVersion sends the current objects as ADDED first; all namespaces and a label selector', async (t) => {
  const api = await setup(t);
  await api.apply(svc('a') + '---\n' + svc('b', 80, 'prod')); // 1, 2
  const all = api.watch('/api/v1/services');
  const onlyA = api.watch('/api/v1/services', '0', 'app=a');
  assert.deepEqual(await all.next(2), [
    ['ADDED', 'a', '1'],
    ['ADDED', 'b', '2'],
  ]);
  assert.deepEqual(await onlyA.next(1), [['ADDED', 'a', '1']]);
  await api.apply(svc('b', 90, 'prod') + '---\n' + svc('a', 91)); // 3, 4
  assert.deepEqual(await all.next(4), [
    ['ADDED', 'a', '1'],
    ['ADDED', 'b', '2'],
    ['MODIFIED', 'b', '3'],
    ['MODIFIED', 'a', '4'],
  ]);
  assert.deepEqual(await onlyA.next(2), [
    ['ADDED', 'a', '1'],
    ['MODIFIED', 'a', '4'],
  ]);
  // Nothing beyond what was asserted arrived (e.g. a duplicate of the replay).
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(all.events.length, 4);
  assert.equal(onlyA.events.length, 2);
});

test('a watch from a version older than the kept history is 410 L4MESH_ERR_GONE; a malformed one is 400', async (t) => {
  const api = await setup(t, 2);
  await api.apply(['a', 'b', 'c', 'd'].map((n) => svc(n)).join('---\n')); // 1..4; only 3 and 4 are kept
  const gone = await fetch(`http://${api.address}${SERVICES}?watch=1&resourceVersion=1`, { headers: { authorization: `Bearer ${api.token}` } });
  assert.equal(gone.status, 410);
  assert.deepEqual(await gone.json(), {
    error: {
      code: 'L4MESH_ERR_GONE',
      message:
        "too old resource version: 1 (2): the store keeps changes only after resourceVersion 2; list again and watch from the list's metadata.resourceVersion",
    },
  });
  await assert.rejects(api.watch(SERVICES, '1').ended, (err: WatchError) => {
    assert.equal(err.status, 410);
    assert.equal(err.code, 'L4MESH_ERR_GONE');
    return true;
  });
  // From 2, the oldest kept base: both kept changes.
  assert.deepEqual(await api.watch(SERVICES, '2').next(2), [
    ['ADDED', 'c', '3'],
    ['ADDED', 'd', '4'],
  ]);
  await assert.rejects(api.watch(SERVICES, 'x1').ended, (err: WatchError) => {
    assert.equal(err.status, 400);
    assert.equal(err.code, 'L4MESH_ERR_BAD_REQUEST');
    assert.equal(err.message, 'resourceVersion="x1": a watch starts after a decimal resourceVersion taken from a list or an object');
    return true;
  });
});

test('a restarted store keeps no history from before: a watch from an older version is 410, from the current one it streams', async (t) => {
  const api = await setup(t);
  await api.apply(svc('a') + '---\n' + svc('b')); // 1, 2
  const reopened = await ResourceStore.open(api.store.stateDir);
  assert.throws(() => reopened.watch(1, () => undefined), { code: 'L4MESH_ERR_GONE' });
  const seen: string[] = [];
  const stop = reopened.watch(2, (e) => seen.push(`${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}`));
  await reopened.delete('Service', 'default', 'a');
  stop();
  await reopened.delete('Service', 'default', 'b');
  assert.deepEqual(seen, ['DELETED a 3']);
});
