// The fixed facts of `up --mode netns` that need no root: the layout's per-node pod ranges and VIP range,
// enrollment as the control plane reads it (istio-cni's redirection annotation), the pod's service env with
// VIPs, how a pod's command enters its namespace, and the node proxy's --capture flags.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../../../src/api/types.js';
import { tunnelProtocolOf } from '../../../src/controlplane/registry/workloads.js';
import { serviceEnv } from '../../../src/dataplane/capture/local.js';
import { podNetnsName } from '../../../src/dataplane/capture/netns/topology.js';
import { PodIpAllocator } from '../../../src/localrun/pod-ips.js';
import { makeNetnsLayout, nodePodRange, makeLayout } from '../../../src/localrun/layout.js';
import { inPodArgv } from '../../../src/localrun/netns-network.js';
import { podEnv, serviceVipMappings } from '../../../src/localrun/pod-env.js';
import { ztunnelConfig } from '../../../src/ztunnel/config.js';
import { meshComponents } from '../../../src/localrun/components.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('netns layout: node-k pods in 198.18.k.2-254, VIPs in 198.19.0.0/16, node proxies told to capture in namespaces', () => {
  const layout = makeNetnsLayout(130, 2, '/w', 'l4m-tabc123');
  assert.deepEqual([layout.mode, layout.netnsPrefix, layout.vipRange, layout.controlPlaneAddress], ['netns', 'l4m-tabc123', '198.19.0.0/16', '127.130.0.254']);
  assert.deepEqual(layout.podRanges, [['198.18.1.2', '198.18.1.254'], ['198.18.2.2', '198.18.2.254']]);
  assert.deepEqual(nodePodRange(layout, 2), [['198.18.2.2', '198.18.2.254']]);
  assert.equal(nodePodRange(makeLayout(130, 2, '/w'), 2), undefined);
  const ztunnel = meshComponents('/state', layout).find((c) => c.name === 'ztunnel-node-2')!;
  assert.deepEqual(ztunnel.args.slice(-4), ['--capture', 'netns', '--netns-prefix', 'l4m-tabc123']);
  assert.equal(meshComponents('/state', makeLayout(130, 2, '/w')).find((c) => c.name === 'ztunnel-node-2')!.args.includes('--capture'), false);
});

test('pod IPs come from the pod\'s node range when one is given', () => {
  const dir = mkdtempSync(join(tmpdir(), 'l4mesh-ips-'));
  try {
    const ips = new PodIpAllocator(dir, [['198.18.1.2', '198.18.1.254'], ['198.18.2.2', '198.18.2.254']]);
    assert.equal(ips.allocate('default/a', [['198.18.2.2', '198.18.2.254']]), '198.18.2.2');
    assert.equal(ips.allocate('default/b'), '198.18.1.2');
    assert.equal(ips.allocate('default/c', [['198.18.2.2', '198.18.2.254']]), '198.18.2.3');
    assert.throws(() => ips.allocate('default/d', [['198.18.2.2', '198.18.2.3']]), { code: 'L4MESH_ERR_CONFIG', message: /no free pod IP left in 198\.18\.2\.2-198\.18\.2\.3/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a netns-mode pod is HBONE only once redirected (istio-cni\'s annotation); local-mode pods are unchanged', () => {
  const netns = { 'l4mesh.io/netns': 'l4m-node-1-a' };
  assert.equal(tunnelProtocolOf({}, netns), 'NONE');
  assert.equal(tunnelProtocolOf({}, { ...netns, 'ambient.istio.io/redirection': 'enabled' }), 'HBONE');
  assert.equal(tunnelProtocolOf({ 'istio.io/dataplane-mode': 'none' }, { ...netns, 'ambient.istio.io/redirection': 'enabled' }), 'NONE');
  assert.equal(tunnelProtocolOf({}, {}), 'HBONE');
});

test('a netns pod\'s env names each service of its namespace by VIP and first port', () => {
  const pod: Resource = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client-1', namespace: 'default' }, spec: { nodeName: 'node-1' }, status: { podIP: '198.18.1.2' } };
  const services = [
    { name: 'ratings', namespace: 'default', hostname: 'ratings.default.svc.cluster.local', addresses: ['198.19.0.7'], ports: [{ servicePort: 9080, targetPort: 9080 }, { servicePort: 9443, targetPort: 9443 }] },
    { name: 'db', namespace: 'other', hostname: 'db.other.svc.cluster.local', addresses: ['198.19.0.8'], ports: [{ servicePort: 5432, targetPort: 5432 }] },
    { name: 'headless', namespace: 'default', hostname: 'headless.default.svc.cluster.local', addresses: [], ports: [{ servicePort: 80, targetPort: 80 }] },
  ];
  const mappings = serviceVipMappings(services, pod);
  assert.deepEqual(serviceEnv(mappings, 'Kubernetes//Pod/default/client-1'), { RATINGS_SERVICE_HOST: '198.19.0.7', RATINGS_SERVICE_PORT: '9080' });
  const env = podEnv(pod, mappings);
  assert.deepEqual([env['RATINGS_SERVICE_HOST'], env['POD_IP'], env['NODE_NAME']], ['198.19.0.7', '198.18.1.2', 'node-1']);
});

test('a pod\'s command enters its namespace with ip netns exec, then drops to the pod\'s user', () => {
  assert.deepEqual(inPodArgv('l4m-node-1-a', ['sleep', '1']), ['ip', 'netns', 'exec', 'l4m-node-1-a', 'sleep', '1']);
  assert.deepEqual(inPodArgv('l4m-node-1-a', ['sleep', '1'], { uid: 65534, gid: 65534 }), [
    'ip', 'netns', 'exec', 'l4m-node-1-a', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', 'sleep', '1',
  ]);
  assert.equal(podNetnsName('l4m', 'node-1', 'default', 'ratings-v1-abc12-xyz9q'), 'l4m-node-1-ratings-v1-abc12-xyz9q');
  const long = podNetnsName('l4m-t0a1b2c', 'node-1', 'default', 'a-very-long-deployment-name-indeed-abc12-xyz9q');
  assert.equal(long.length, 48);
  assert.match(long, /^l4m-t0a1b2c-node-1-a-very-long-deployme-[0-9a-f]{8}$/);
});

test('ztunnel --capture netns takes the prefix; bad values name the flag', () => {
  const cfg = ztunnelConfig(['--node', 'node-1', '--capture', 'netns', '--netns-prefix', 'l4m-tabc123'], {});
  assert.notEqual(cfg, 'help');
  if (cfg === 'help') return;
  assert.deepEqual([cfg.capture, cfg.netnsPrefix], ['netns', 'l4m-tabc123']);
  const local = ztunnelConfig(['--node', 'node-1'], {});
  assert.ok(local !== 'help' && local.capture === 'local' && local.netnsPrefix === 'l4m');
  assert.throws(() => ztunnelConfig(['--node', 'node-1', '--capture', 'ebpf'], {}), { code: 'L4MESH_ERR_CONFIG', message: '--capture: "ebpf" is not local or netns' });
  assert.throws(() => ztunnelConfig(['--node', 'node-1', '--capture', 'netns', '--netns-prefix', 'x'], {}), { code: 'L4MESH_ERR_CONFIG', message: '--netns-prefix: "x" must be l4m or l4m-<letters/digits>' });
});
