// The mesh is found from any directory through the per-user default state dir ($XDG_STATE_HOME/l4mesh,
// no L4MESH_STATE_DIR), and a state dir whose token the control plane refuses is named with the right one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import { isAlive, readProcessTable } from '../../../src/localrun/processes.js';
import { cliMesh, parseTable } from './cli-fixture.js';

test('up in one directory, get from others: the per-user default finds the same mesh', { timeout: 240_000 }, async () => {
  const mesh = await cliMesh({ defaultStateDir: true });
  const elsewhere = await mkdtemp(join(tmpdir(), 'l4mesh-cwd-'));
  const recorded: Array<{ pid: number; startTime: string | null }> = [];
  try {
    await mkdir(join(elsewhere, 'a', 'b'), { recursive: true });
    const up = await mesh.run(['up', '--nodes', '1'], 60_000, { cwd: elsewhere });
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, new RegExp(`^Starting the local mesh \\(state dir ${mesh.stateDir}\\)\\n`));
    for (const r of Object.values(readProcessTable(mesh.stateDir))) recorded.push(r);

    for (const cwd of [join(elsewhere, 'a', 'b'), join(packageRoot(), 'samples'), '/']) {
      const r = await mesh.run(['get', 'pods', '-n', 'istio-system'], 60_000, { cwd });
      assert.equal(r.code, 0, `from ${cwd}: ${r.stderr}`);
      const row = parseTable(r.stdout, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'])[0]!;
      assert.deepEqual([row['NAME'], row['READY'], row['STATUS']], ['ztunnel-node-1', '1/1', 'Running']);
    }
    const again = await mesh.run(['up'], 60_000, { cwd: '/' });
    assert.match(again.stdout, /Nothing to do: the mesh is already up\./);

    // Another state dir with a token of its own: the control plane answers, refuses it, and the error
    // says which state dir was used and which one the control plane runs with.
    const other = join(elsewhere, 'other-state');
    await mkdir(other);
    await writeFile(join(other, 'admin.token'), 'f'.repeat(64) + '\n', { mode: 0o600 });
    const cpPid = readProcessTable(mesh.stateDir)['control-plane']!.pid;
    const wrong = await mesh.run(['get', 'pods'], 60_000, { env: { L4MESH_STATE_DIR: other } });
    assert.equal(wrong.code, 1);
    assert.equal(
      wrong.stderr,
      `error: the control plane at 127.${mesh.base}.0.254:15014 rejected the admin token of state dir ${other} (from $L4MESH_STATE_DIR): ` +
        `it runs with state dir ${mesh.stateDir} (pid ${cpPid}); use --state-dir ${mesh.stateDir} or set L4MESH_STATE_DIR\n`,
    );
    const empty = join(elsewhere, 'empty-state');
    const none = await mesh.run(['get', 'pods', '--state-dir', empty]);
    assert.equal(none.code, 1);
    assert.equal(
      none.stderr,
      `error: state dir ${empty} (from --state-dir) has no mesh, but a control plane at 127.${mesh.base}.0.254:15014 runs with state dir ${mesh.stateDir} (pid ${cpPid}); use --state-dir ${mesh.stateDir} or set L4MESH_STATE_DIR\n`,
    );
  } finally {
    await mesh.run(['down']).catch(() => undefined);
    for (const r of recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    await mesh.cleanup();
    await rm(elsewhere, { recursive: true, force: true });
  }
});
