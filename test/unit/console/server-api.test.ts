// The console's JSON API in-process, from a fixed registry and access logs in a temp state dir: a workload's
// details (pods, identity, access lines read once from the *.access.log files, not again from stdout logs),
// services and policies, and the coded errors for bad parameters, unknown names and methods.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { accessLogFile, componentLogFile, logsDir } from '../../../src/config/state-layout.js';
import type { Registryz } from '../../../src/console/mesh-views.js';
import { MetricsHistory } from '../../../src/console/metrics-history.js';
import { createConsoleServer } from '../../../src/console/server.js';

const REGISTRY: Registryz = {
  workloads: [
    { namespace: 'default', name: 'ratings-v2-7d9f8c6b5-abcde', workloadName: 'ratings-v2', node: 'node-2', addresses: ['127.1.0.9'], serviceAccount: 'bookinfo-ratings-v2', trustDomain: 'cluster.local', status: 'HEALTHY', labels: { app: 'ratings' }, authorizationPolicies: [] },
  ],
  services: [],
  policies: [],
  policySources: [{ kind: 'PeerAuthentication', namespace: 'default', name: 'permissive', notes: [] }],
};

const line = (src: string, dst: string) => `2026-11-29T10:00:00.000000Z\tinfo\taccess\tconnection complete\tsrc.addr=127.1.0.9:40000 src.workload="${src}" src.namespace="default" dst.addr=127.1.0.4:5432 dst.workload="${dst}" dst.namespace="default" bytes_sent=120`;

test('the console API: workload details, policies, and coded errors', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'l4mesh-console-api-'));
  // Nothing listens there: the history is never started, its registry is set by hand.
  const history = new MetricsHistory('http://127.0.0.1:9');
  history.registry = REGISTRY;
  const server = createConsoleServer({ history, stateDir });
  try {
    await mkdir(logsDir(stateDir), { recursive: true });
    const mine = line('ratings-v2-7d9f8c6b5-abcde', 'postgres-v1-6b7c8d9e0-fghij');
    const other = line('reviews-v3-1a2b3c4d5-zzzzz', 'ratings-v1-1a2b3c4d5-yyyyy');
    await writeFile(accessLogFile(stateDir, 'ztunnel-node-2'), `${other}\n${mine}\n`);
    // The proxy's stdout log holds the same line again; it must not be listed twice.
    await writeFile(componentLogFile(stateDir, 'ztunnel-node-2'), `${mine}\n`);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = async (path: string, method = 'GET') => {
      const res = await fetch(`${base}${path}`, { method });
      return [res.status, await res.json()] as const;
    };

    assert.deepEqual(await get('/api/workload?namespace=default&name=ratings-v2'), [
      200,
      {
        namespace: 'default',
        name: 'ratings-v2',
        pods: [{ name: 'ratings-v2-7d9f8c6b5-abcde', addresses: ['127.1.0.9'], node: 'node-2', status: 'HEALTHY', identity: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings-v2', certificate: null }],
        lines: [mine],
      },
    ]);
    assert.deepEqual(await get('/api/logs?namespace=default&workload=ratings-v2'), [200, { lines: [mine] }]);
    assert.deepEqual(await get('/api/policies'), [
      200,
      { policies: [{ kind: 'PeerAuthentication', namespace: 'default', name: 'permissive', action: null, scope: null, selector: null, rules: 0, skipped: null, notes: [], selects: ['default/ratings-v2'] }] },
    ]);
    assert.deepEqual(await get('/api/graph?window=60'), [200, { seconds: 0, nodes: [], edges: [], from: 0, to: 0, source: 'proxies', prometheus: null, targets: [], error: '' }]);

    assert.deepEqual(await get('/api/workload?namespace=default'), [400, { error: { code: 'L4MESH_ERR_BAD_REQUEST', message: 'missing ?name=' } }]);
    assert.deepEqual(await get('/api/workload?namespace=shop&name=cart'), [404, { error: { code: 'L4MESH_ERR_NOT_FOUND', message: "no workload shop/cart in the control plane's registry; see /api/workloads" } }]);
    assert.deepEqual(await get('/api/proxy?node=node-9'), [404, { error: { code: 'L4MESH_ERR_NOT_FOUND', message: 'no node proxy on node "node-9" in the control plane\'s service discovery; see /api/proxies' } }]);
    assert.deepEqual(await get('/api/graph?window=0'), [400, { error: { code: 'L4MESH_ERR_BAD_REQUEST', message: 'window must be seconds in (0, 600], got "0"' } }]);
    assert.deepEqual(await get('/api/graph', 'POST'), [405, { error: { code: 'L4MESH_ERR_METHOD_NOT_ALLOWED', message: 'the console is read-only: GET only' } }]);
  } finally {
    server.close();
    await rm(stateDir, { recursive: true, force: true });
  }
});
