// netns mode's waypoint: `waypoint apply` keeps its pod out of capture (Istio's dataplane-mode=none on
// gateway pods), points it at the control plane's fabric address, and has it tunnel to pod IPs, where
// netns mode's node proxies take HBONE; local mode's waypoint tunnels to the node proxy's address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseManifests } from '../../../src/api/manifest.js';
import { packageRoot } from '../../../src/config/paths.js';
import { waypointManifest } from '../../../src/cli/waypoint.js';
import { waypointConfig } from '../../../src/waypoint/config.js';
import { UpstreamConnector } from '../../../src/waypoint/upstream.js';
import { ProxyState } from '../../../src/dataplane/state/index.js';
import type { HboneClientPool } from '../../../src/dataplane/hbone/client-pool.js';
import { service, snapshot, workload } from '../state/snapshot-fixture.js';

const POD = { POD_IP: '198.18.2.3', NODE_NAME: 'node-2', POD_NAME: 'waypoint-abc' };

test('waypoint apply in netns mode: pod labelled dataplane-mode=none, fabric control plane, --hbone-target pod', () => {
  const [, , deployment] = parseManifests(waypointManifest({ namespace: 'default', name: 'waypoint', stateDir: '/s', controlPlane: '198.18.0.1:15012', netns: true }));
  const template = (deployment!.spec as { template: { metadata: { labels: Record<string, string> }; spec: { containers: Array<{ command: string[] }> } } }).template;
  assert.deepEqual(template.metadata.labels, {
    'gateway.networking.k8s.io/gateway-name': 'waypoint',
    'gateway.istio.io/managed': 'istio.io-mesh-controller',
    'istio.io/dataplane-mode': 'none',
  });
  assert.deepEqual(template.spec.containers[0]!.command, [
    join(packageRoot(), 'bin', 'l4mesh'), 'waypoint', '--namespace', 'default', '--name', 'waypoint', '--state-dir', '/s', '--control-plane', '198.18.0.1:15012', '--hbone-target', 'pod',
  ]);
  // The Deployment's own labels (what `get` and selectors see) are local mode's.
  assert.deepEqual(deployment!.metadata.labels, { 'gateway.networking.k8s.io/gateway-name': 'waypoint', 'gateway.istio.io/managed': 'istio.io-mesh-controller' });
  const [, , local] = parseManifests(waypointManifest({ namespace: 'default', name: 'waypoint', stateDir: '/s' }));
  assert.equal('istio.io/dataplane-mode' in (local!.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels, false);
});

test('--hbone-target: node by default, pod when asked, anything else refused naming the flag', () => {
  const byDefault = waypointConfig(['--namespace', 'default'], POD);
  const pod = waypointConfig(['--namespace', 'default', '--hbone-target', 'pod', '--control-plane', '198.18.0.1:15012'], POD);
  assert.ok(byDefault !== 'help' && pod !== 'help');
  assert.deepEqual([byDefault.hboneTarget, pod.hboneTarget, pod.controlPlaneHttp], ['node', 'pod', '198.18.0.1:15014']);
  assert.throws(() => waypointConfig(['--namespace', 'default', '--hbone-target', 'vip'], POD), { code: 'L4MESH_ERR_CONFIG', message: '--hbone-target: "vip" is not node or pod' });
});

test('the waypoint tunnels to the endpoint\'s pod IP with --hbone-target pod, else to its node proxy', () => {
  const state = new ProxyState();
  state.update(
    snapshot(
      [
        workload('postgres-v1', { addresses: ['198.18.2.5'], node: 'node-2', services: { 'default/postgres.default.svc.cluster.local': [] } }),
        workload('ztunnel-node-2', { namespace: 'istio-system', addresses: ['127.0.10.2'], node: 'node-2', labels: { app: 'ztunnel' } }),
      ],
      [service('postgres', { addresses: ['198.19.0.4'], ports: [{ servicePort: 5432, targetPort: 5432 }] })],
    ),
  );
  const postgres = state.allWorkloads().find((w) => w.name === 'postgres-v1')!;
  const connector = (hboneToPodIp: boolean) =>
    new UpstreamConnector({ state, pool: {} as HboneClientPool, identity: () => 'spiffe://cluster.local/ns/default/sa/waypoint', self: () => undefined, address: '198.18.2.3', hboneToPodIp });
  const endpoint = { workload: postgres, targetPort: 5432 };
  assert.deepEqual(connector(true).target(endpoint), { addr: '198.18.2.5:5432', identity: 'spiffe://cluster.local/ns/default/sa/default', tunnelAddr: '198.18.2.5:15008' });
  assert.deepEqual(connector(false).target(endpoint), { addr: '198.18.2.5:5432', identity: 'spiffe://cluster.local/ns/default/sa/default', tunnelAddr: '127.0.10.2:15008' });
});
