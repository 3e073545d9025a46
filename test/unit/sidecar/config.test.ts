// `l4mesh sidecar` flags and environment: required values, defaults from the pod's env, node id, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sidecarConfig, sidecarNodeId, type SidecarConfig } from '../../../src/sidecar/config.js';

const BASE = ['--workload', 'default/echo-v1-abcde', '--capture-range', '127.64.3.0/24'];

test('pod IP and node come from POD_IP / NODE_NAME; files default under the state dir', () => {
  const c = sidecarConfig(BASE, { POD_IP: '127.1.0.9', NODE_NAME: 'node-2', L4MESH_STATE_DIR: '/tmp/s' }) as SidecarConfig;
  assert.deepEqual(
    [c.namespace, c.pod, c.address, c.node, c.tokenFile, c.rootCertFile, c.controlPlane, c.tcpReportingDurationMs],
    ['default', 'echo-v1-abcde', '127.1.0.9', 'node-2', '/tmp/s/tokens/node-2.token', '/tmp/s/ca/root-cert.pem', '127.0.0.1:15012', 15_000],
  );
  assert.equal(sidecarNodeId(c), 'sidecar~127.1.0.9~echo-v1-abcde.default~default.svc.cluster.local');
});

test('flags win over the environment; --label is repeatable', () => {
  const c = sidecarConfig([...BASE, '--address', '127.1.0.3', '--node', 'node-1', '--label', 'version=v-wire', '--label', 'a=b=c', '--tcp-reporting-duration', '1s'], {
    POD_IP: '127.1.0.9',
    NODE_NAME: 'node-2',
  }) as SidecarConfig;
  assert.deepEqual([c.address, c.node, c.extraLabels, c.tcpReportingDurationMs], ['127.1.0.3', 'node-1', { version: 'v-wire', a: 'b=c' }, 1000]);
});

test('missing or bad values fail with L4MESH_ERR_CONFIG naming the flag', () => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['--capture-range', '127.64.3.0/24'], { POD_IP: '127.1.0.9', NODE_NAME: 'n' }, /--workload NAMESPACE\/POD is required/],
    [['--workload', 'echo', '--capture-range', '127.64.3.0/24'], { POD_IP: '127.1.0.9', NODE_NAME: 'n' }, /--workload NAMESPACE\/POD/],
    [BASE, { NODE_NAME: 'n' }, /--address IP is required \(or POD_IP\)/],
    [BASE, { POD_IP: 'pod', NODE_NAME: 'n' }, /--address: "pod" is not an IP address/],
    [BASE, { POD_IP: '127.1.0.9' }, /--node NAME is required \(or NODE_NAME\)/],
    [['--workload', 'default/p'], { POD_IP: '127.1.0.9', NODE_NAME: 'n' }, /--capture-range CIDR is required/],
    [[...BASE, '--label', 'novalue'], { POD_IP: '127.1.0.9', NODE_NAME: 'n' }, /--label: "novalue" is not KEY=VALUE/],
  ];
  for (const [args, env, message] of cases) {
    assert.throws(() => sidecarConfig(args, env), (err: Error & { code?: string }) => err.code === 'L4MESH_ERR_CONFIG' && message.test(err.message), args.join(' '));
  }
});
