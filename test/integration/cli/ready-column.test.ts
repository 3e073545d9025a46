// get pods -n istio-system: a node proxy's READY is its readiness endpoint (:15021) now, not a constant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAlive, readProcessTable } from '../../../src/localrun/processes.js';
import { eventually } from '../../support/mesh.js';
import { cliMesh, parseTable } from './cli-fixture.js';

test('node proxy pods show 1/1 while :15021 answers and 0/1 while it does not', { timeout: 240_000 }, async () => {
  const mesh = await cliMesh();
  const recorded: Array<{ pid: number; startTime: string | null }> = [];
  let stopped: number | undefined;
  const rows = async () => parseTable((await mesh.run(['get', 'pods', '-n', 'istio-system'])).stdout, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']).map((r) => [r['NAME'], r['READY'], r['STATUS']]);
  try {
    const up = await mesh.run(['up', '--nodes', '2']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    for (const r of Object.values(readProcessTable(mesh.stateDir))) recorded.push(r);
    assert.deepEqual(await rows(), [['ztunnel-node-1', '1/1', 'Running'], ['ztunnel-node-2', '1/1', 'Running']]);

    // A stopped (SIGSTOP) proxy answers nothing, whatever restarts a dead one might do.
    stopped = readProcessTable(mesh.stateDir)['ztunnel-node-2']!.pid;
    process.kill(stopped, 'SIGSTOP');
    assert.deepEqual(await rows(), [['ztunnel-node-1', '1/1', 'Running'], ['ztunnel-node-2', '0/1', 'Running']]);
    process.kill(stopped, 'SIGCONT');
    stopped = undefined;
    await eventually(async () => JSON.stringify(await rows()) === JSON.stringify([['ztunnel-node-1', '1/1', 'Running'], ['ztunnel-node-2', '1/1', 'Running']]) || undefined, 30_000, 'node-2 ready again');
  } finally {
    if (stopped) process.kill(stopped, 'SIGCONT');
    await mesh.run(['down']).catch(() => undefined);
    for (const r of recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    await mesh.cleanup();
  }
});
