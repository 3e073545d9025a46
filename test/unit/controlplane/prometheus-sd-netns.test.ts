// Service discovery for Prometheus and the console lists only proxies the host can scrape: a netns-mode
// pod (a waypoint at 198.18.k.x) is in a namespace the host has no route into.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prometheusTargets } from '../../../src/controlplane/debug/handlers.js';
import { parseNodeId } from '../../../src/controlplane/registry/source.js';

const connected = (id: string) => ({ proxy: parseNodeId(id)!, connectedAt: new Date(0), pushes: 0, nacks: 0 });

test('prometheus_sd leaves out proxies in the netns pod network and keeps loopback ones', () => {
  const targets = prometheusTargets({
    selfMetricsTarget: () => '127.0.0.1:15014',
    connections: () => [
      connected('ztunnel~127.0.10.1~ztunnel-node-1.istio-system~istio-system.svc.cluster.local'),
      connected('waypoint~198.18.2.6~waypoint-abc.default~default.svc.cluster.local'),
      connected('waypoint~127.1.0.10~waypoint-def.bookinfo~bookinfo.svc.cluster.local'),
    ],
  }) as Array<{ targets: string[] }>;
  assert.deepEqual(targets.map((t) => t.targets[0]), ['127.0.0.1:15014', '127.0.10.1:15020', '127.1.0.10:15020']);
});
