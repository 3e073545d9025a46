// `l4mesh waypoint apply`: the manifest it applies (ServiceAccount, Service, Deployment, Namespace label),
// and the waypoint's flags/env handling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseManifests } from '../../../src/api/manifest.js';
import { defaultStateDir, packageRoot } from '../../../src/config/paths.js';
import { waypointManifest } from '../../../src/cli/waypoint.js';
import { waypointConfig, waypointNodeId } from '../../../src/waypoint/config.js';

test('waypoint apply writes a ServiceAccount, Service, Deployment and labels the namespace', () => {
  const resources = parseManifests(waypointManifest({ namespace: 'bookinfo', name: 'wp', stateDir: '/tmp/state', controlPlane: '127.0.0.1:15012', namespaceLabels: { team: 'a' } }));
  assert.deepEqual(resources.map((r) => `${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`), [
    'ServiceAccount/bookinfo/waypoint',
    'Service/bookinfo/wp',
    'Deployment/bookinfo/wp',
    'Namespace//bookinfo',
  ]);
  const [, service, deployment, namespace] = resources;
  assert.deepEqual(service!.metadata.labels, { 'gateway.networking.k8s.io/gateway-name': 'wp', 'gateway.istio.io/managed': 'istio.io-mesh-controller' });
  assert.deepEqual((service!.spec as { selector: unknown }).selector, { 'gateway.networking.k8s.io/gateway-name': 'wp' });
  assert.deepEqual((service!.spec as { ports: Array<{ port: number }> }).ports.map((p) => p.port), [15008]);
  const pod = (deployment!.spec as { template: { spec: { serviceAccountName: string; containers: Array<{ command: string[] }> } } }).template.spec;
  assert.equal(pod.serviceAccountName, 'waypoint');
  assert.deepEqual(pod.containers[0]!.command, [
    join(packageRoot(), 'bin', 'l4mesh'), 'waypoint', '--namespace', 'bookinfo', '--name', 'wp', '--state-dir', '/tmp/state', '--control-plane', '127.0.0.1:15012',
  ]);
  assert.deepEqual(namespace!.metadata.labels, { team: 'a', 'istio.io/use-waypoint': 'wp' });
});

test('waypoint flags default from the pod environment; the node id has Istio\'s shape', () => {
  const config = waypointConfig(['--namespace', 'bookinfo'], { POD_IP: '127.0.1.9', NODE_NAME: 'node-2', POD_NAME: 'waypoint-abc', SERVICE_ACCOUNT: 'waypoint' });
  assert.ok(config !== 'help');
  assert.deepEqual(
    [config.address, config.node, config.serviceAccount, config.tokenFile, config.controlPlaneHttp, config.routesPollMs],
    ['127.0.1.9', 'node-2', 'waypoint', join(defaultStateDir({}), 'tokens', 'node-2.token'), '127.0.0.1:15014', 1000],
  );
  assert.equal(waypointNodeId(config), 'waypoint~127.0.1.9~waypoint-abc.bookinfo~bookinfo.svc.cluster.local');
  assert.throws(() => waypointConfig(['--namespace', 'x'], {}), { code: 'L4MESH_ERR_CONFIG', message: /--address IP is required when POD_IP is not set/ });
  assert.throws(() => waypointConfig(['--namespace', 'x', '--address', 'nope', '--node', 'n'], {}), { code: 'L4MESH_ERR_CONFIG', message: '--address: "nope" is not an IP address' });
});
