// The control plane as a process: resources applied through the API reach an xDS client over TLS as
// Istio-shaped resources; xDS without a node token is refused; restart keeps resources and the root CA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startCli } from '../../support/processes.js';
import { eventually, podYaml, PROCESS_START_TIMEOUT_MS } from '../../support/mesh.js';
import { XdsClient, type XdsUpdate } from '../../../src/dataplane/xds/client.js';
import { NodeTokenStore } from '../../../src/controlplane/ca/node-tokens.js';

const ADDRESS = '127.252.0.254';
const SERVER_NAME = { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc', 'grpc.default_authority': 'istiod.istio-system.svc' };

test('control plane process: API → registry → xDS over TLS, node-token admission, restart', { timeout: 90_000 }, async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'l4mesh-cp-'));
  const start = async () => {
    const cp = startCli(['control-plane', '--state-dir', stateDir, '--address', ADDRESS, '--vip-range', '127.252.3.0/24']);
    await cp.waitFor(/control plane ready/, PROCESS_START_TIMEOUT_MS);
    return cp;
  };
  let cp = await start();
  const clients: XdsClient[] = [];
  try {
    const token = (await readFile(join(stateDir, 'admin.token'), 'utf8')).trim();
    const root = await readFile(join(stateDir, 'ca', 'root-cert.pem'));
    const api = (path: string, init?: RequestInit) => fetch(`http://${ADDRESS}:15014${path}`, { ...init, headers: { authorization: `Bearer ${token}` } });
    const apply = await api('/apply', {
      method: 'POST',
      body:
        `apiVersion: v1\nkind: Service\nmetadata:\n  name: ratings\nspec:\n  selector:\n    app: ratings\n  ports:\n  - name: http\n    port: 9080\n---\n` +
        podYaml({ name: 'ratings-v1-7f8b9', ip: '127.252.1.5', node: 'node-1', labels: { app: 'ratings', version: 'v1' }, serviceAccount: 'bookinfo-ratings' }),
    });
    assert.equal(apply.status, 200);
    assert.deepEqual(await apply.json(), {
      results: [
        { kind: 'Service', namespace: 'default', name: 'ratings', action: 'created' },
        { kind: 'Pod', namespace: 'default', name: 'ratings-v1-7f8b9', action: 'created' },
      ],
    });

    const nodeToken = await (await NodeTokenStore.open(stateDir)).create('node-1');
    const connect = (authorization?: string) => {
      const client = new XdsClient({
        address: `${ADDRESS}:15012`,
        credentials: grpc.credentials.createSsl(root),
        channelOptions: SERVER_NAME,
        nodeId: `ztunnel~127.252.0.1~ztunnel-node-1.istio-system~istio-system.svc.cluster.local`,
        metadata: authorization ? { authorization } : undefined,
        backoff: { initialMs: 10, maxMs: 200 },
      });
      clients.push(client);
      client.start();
      return client;
    };

    // No token: the stream is refused with UNAUTHENTICATED, so nothing is ever synced.
    const anonymous = connect();
    const refusal = await new Promise<Error>((resolve) => anonymous.once('disconnected', resolve));
    assert.match(refusal.message, /missing "authorization: Bearer <node token>"/);
    assert.equal(anonymous.hasSynced(), false);
    anonymous.stop();

    const client = connect(`Bearer ${nodeToken}`);
    const updates: XdsUpdate[] = [];
    client.on('update', (u: XdsUpdate) => updates.push(u));
    await eventually(() => client.hasSynced(), 10_000, 'xDS sync');
    const snapshot = await eventually(() => {
      const s = client.snapshot();
      return s.workloads.has('Kubernetes//Pod/default/ratings-v1-7f8b9') ? s : undefined;
    }, 10_000, 'the ratings workload');
    const workload = snapshot.workloads.get('Kubernetes//Pod/default/ratings-v1-7f8b9')!;
    assert.deepEqual(
      { addresses: workload.addresses, node: workload.node, canonicalName: workload.canonicalName, canonicalRevision: workload.canonicalRevision, serviceAccount: workload.serviceAccount, tunnelProtocol: workload.tunnelProtocol },
      { addresses: ['127.252.1.5'], node: 'node-1', canonicalName: 'ratings', canonicalRevision: 'v1', serviceAccount: 'bookinfo-ratings', tunnelProtocol: 'HBONE' },
    );
    assert.deepEqual(workload.services, { 'default/ratings.default.svc.cluster.local': [{ servicePort: 9080, targetPort: 9080, appProtocol: 'HTTP11' }] });
    const service = snapshot.services.get('default/ratings.default.svc.cluster.local')!;
    assert.equal(service.hostname, 'ratings.default.svc.cluster.local');
    assert.match(service.addresses[0]!, /^127\.252\.3\.\d+$/);
    // The node proxy itself is recorded as a pod on its node: written to the store when its stream is
    // admitted, which can finish after the first sync, so wait for it.
    await eventually(async () => (await api('/api/v1/namespaces/istio-system/pods/ztunnel-node-1')).status === 200, 10_000, 'the node proxy recorded as a pod');
    // ...and pushed to this client as a workload; otherwise that push can share an update with the removal below.
    await eventually(() => client.snapshot().workloads.has('Kubernetes//Pod/istio-system/ztunnel-node-1') || undefined, 10_000, 'the node proxy\'s pod pushed as a workload');

    // A delete reaches the client as a removal.
    updates.length = 0;
    assert.equal((await api('/api/v1/namespaces/default/pods/ratings-v1-7f8b9', { method: 'DELETE' })).status, 200);
    const removal = await eventually(() => updates.find((u) => u.changed.removed.includes('Kubernetes//Pod/default/ratings-v1-7f8b9')), 5_000, 'the removal');
    assert.deepEqual(removal.changed.workloads, []);
    client.stop();

    // Restart: resources, VIP and root certificate survive.
    await cp.stop();
    cp = await start();
    const services = await (await api('/api/v1/namespaces/default/services')).json() as { items: Array<{ metadata: { name: string } }> };
    assert.deepEqual(services.items.map((s) => s.metadata.name), ['ratings']);
    assert.deepEqual(await readFile(join(stateDir, 'ca', 'root-cert.pem')), root);
    const registryz = await (await fetch(`http://${ADDRESS}:15014/debug/registryz`)).json() as { services: Array<{ hostname: string; addresses: string[] }> };
    assert.deepEqual(registryz.services.find((s) => s.hostname === 'ratings.default.svc.cluster.local')!.addresses, service.addresses);
  } finally {
    for (const c of clients) c.stop();
    await cp.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
});
