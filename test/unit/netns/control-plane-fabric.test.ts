// netns mode's control plane: `up` has it listen in the fabric namespace too (pods cannot reach the host's
// loopback), the flag names a mesh's fabric namespace or is refused, and local mode passes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controlPlaneConfig } from '../../../src/controlplane/config.js';
import { meshComponents } from '../../../src/localrun/components.js';
import { makeLayout, makeNetnsLayout } from '../../../src/localrun/layout.js';

test('up --mode netns starts the control plane with --fabric-netns <prefix>-fabric; local mode without', () => {
  const cp = meshComponents('/state', makeNetnsLayout(130, 2, '/w', 'l4m-tabc123')).find((c) => c.name === 'control-plane')!;
  assert.deepEqual(cp.args.slice(-2), ['--fabric-netns', 'l4m-tabc123-fabric']);
  assert.equal(meshComponents('/state', makeLayout(130, 2, '/w')).find((c) => c.name === 'control-plane')!.args.includes('--fabric-netns'), false);
  // One address in the fabric (DESIGN §2): with --ha only the first replica takes it.
  const ha = meshComponents('/state', makeNetnsLayout(130, 2, '/w', 'l4m', true)).filter((c) => c.name.startsWith('control-plane'));
  assert.deepEqual(ha.map((c) => [c.name, c.args.includes('--fabric-netns') ? c.args[c.args.indexOf('--fabric-netns') + 1] : '-']), [
    ['control-plane', 'l4m-fabric'],
    ['control-plane-2', '-'],
  ]);
});

test('--fabric-netns (or L4MESH_FABRIC_NETNS) must name a mesh\'s fabric namespace', () => {
  assert.equal(controlPlaneConfig({ 'fabric-netns': 'l4m-fabric' }, {}).fabricNetns, 'l4m-fabric');
  assert.equal(controlPlaneConfig({}, { L4MESH_FABRIC_NETNS: 'l4m-t01ab2c-fabric' }).fabricNetns, 'l4m-t01ab2c-fabric');
  assert.equal(controlPlaneConfig({}, {}).fabricNetns, undefined);
  assert.throws(() => controlPlaneConfig({ 'fabric-netns': 'l4m-node-1' }, {}), {
    code: 'L4MESH_ERR_CONFIG',
    message: '--fabric-netns: "l4m-node-1" is not a mesh\'s fabric namespace (l4m-fabric, or l4m-<prefix>-fabric; "ip netns list")',
  });
});
