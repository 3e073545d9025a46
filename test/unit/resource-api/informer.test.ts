// The client's ResourceInformer follows a collection through the watch API: the first list, each change
// once, and after the control plane restarts (no history kept) a fresh list through the 410.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceStore, ensureAdminToken } from '../../../src/controlplane/store/index.js';
import { createResourceApiHandler } from '../../../src/controlplane/api/index.js';
import { ControlPlaneClient } from '../../../src/controlplane/client/control-plane-client.js';
import { ResourceInformer } from '../../../src/controlplane/client/resource-informer.js';
import { kindByName } from '../../../src/api/kinds.js';
import { eventually } from '../../support/mesh.js';

const DEPLOYMENT = kindByName('Deployment')!;

function deployment(name: string, replicas: number): string {
  return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: ${replicas}\n  selector:\n    matchLabels:\n      app: ${name}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n      containers:\n      - name: main\n        command: ["true"]\n`;
}

async function serve(stateDir: string, port: number): Promise<{ server: Server; store: ResourceStore; port: number }> {
  const store = await ResourceStore.open(stateDir);
  const handle = createResourceApiHandler(store, { adminToken: await ensureAdminToken(stateDir) });
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, store, port: (server.address() as AddressInfo).port };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

test('the informer lists, applies each watched change once, and relists after a restart', { timeout: 60_000 }, async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'l4mesh-informer-'));
  let cp = await serve(stateDir, 0);
  const token = await ensureAdminToken(stateDir);
  const client = new ControlPlaneClient(`127.0.0.1:${cp.port}`, token);
  await client.apply(deployment('a', 1));
  const seen: string[] = [];
  const errors: string[] = [];
  const informer = new ResourceInformer({ address: client.address, token, listWithVersion: (i, n) => client.listWithVersion(i, n) }, DEPLOYMENT, undefined, {
    onChange: (e) => seen.push(e ? `${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}` : `LIST ${informer.items().map((d) => d.metadata.name).sort().join(',')}`),
    onError: (err) => errors.push((err as Error & { code?: string }).code ?? err.message),
  });
  t.after(async () => {
    await informer.stop();
    await close(cp.server);
    await rm(stateDir, { recursive: true, force: true });
  });
  informer.start();
  await informer.synced;
  await client.apply(deployment('a', 2) + '---\n' + deployment('b', 1)); // 2, 3
  await client.delete(DEPLOYMENT, 'default', 'a'); // 4
  await eventually(() => seen.length >= 4, 20_000, 'four informer notifications');
  assert.deepEqual(seen, ['LIST a', 'MODIFIED a 2', 'ADDED b 3', 'DELETED a 4']);
  assert.deepEqual(informer.items().map((d) => d.metadata.name), ['b']);

  // A restart with a change made while the API was down: the new process keeps no history from before
  // (its oldest base is 5), so resuming from 4 is 410 and the informer lists again.
  await close(cp.server);
  const offline = await ResourceStore.open(stateDir);
  await offline.apply([
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'c', namespace: 'default' }, spec: { replicas: 1, selector: { matchLabels: { app: 'c' } }, template: { metadata: { labels: { app: 'c' } }, spec: { containers: [{ name: 'main', command: ['true'] }] } } } },
  ]); // 5, written by another process while the API was down
  cp = await serve(stateDir, cp.port);
  await eventually(() => seen.includes('LIST b,c'), 20_000, 'a relist after the restart');
  assert.deepEqual(seen.slice(0, 5), ['LIST a', 'MODIFIED a 2', 'ADDED b 3', 'DELETED a 4', 'LIST b,c']);
  assert.ok(errors.includes('L4MESH_ERR_GONE'), `errors: ${errors.join(', ')}`);
  await client.apply(deployment('b', 3)); // 6
  await eventually(() => seen.length >= 6, 20_000, 'the change after the relist');
  assert.deepEqual(seen.slice(5), ['MODIFIED b 6']);
});
