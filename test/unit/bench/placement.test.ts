// bench/placement.ts: which process goes to which core under --placement=nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPlacement, onClientCpu, parsePlacement, pinCommands } from '../../../bench/placement.js';
import { onHost, type RunningScenario } from '../../../bench/scenarios.js';

test('parsePlacement: shared by default, nodes on request, anything else named in the error', () => {
  assert.equal(parsePlacement(undefined), 'shared');
  assert.equal(parsePlacement('shared'), 'shared');
  assert.equal(parsePlacement('nodes'), 'nodes');
  assert.throws(() => parsePlacement('node'), /--placement: expected shared .* or nodes .*, got "node"/);
});

test('pinCommands: every thread of the client side on core 0, of the server side on core 1', () => {
  assert.deepEqual(pinCommands({ client: [101], server: [202, 303] }), [
    ['taskset', ['-a', '-p', '-c', '0', '101']],
    ['taskset', ['-a', '-p', '-c', '1', '202']],
    ['taskset', ['-a', '-p', '-c', '1', '303']],
  ]);
});

test('onClientCpu starts what the scenario launches on core 0, inside its own wrapper', () => {
  const inNetns = (command: string, args: string[]): [string, string[]] => ['ip', ['netns', 'exec', 'pod', command, ...args]];
  assert.deepEqual(onClientCpu(inNetns)('node', ['client.js', '{}']), ['taskset', ['-c', '0', 'ip', 'netns', 'exec', 'pod', 'node', 'client.js', '{}']]);
});

test('applyPlacement: shared leaves the launch as the scenario has it and pins nothing', async () => {
  const running = { sides: { client: [], server: [] } } as unknown as RunningScenario;
  assert.equal(await applyPlacement('shared', 'direct', running), onHost);
  // nodes with no process of either side is refused before any taskset runs.
  await assert.rejects(applyPlacement('nodes', 'empty', running), /--placement=nodes: scenario empty names no processes of either side/);
});
