// A second `up` on addresses a mesh already holds: it names the address and the other mesh's state dir,
// exits 1 and starts nothing; `status` never calls a component Ready on another process's answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeLayout } from '../../../src/localrun/layout.js';
import { isAlive, processStartTime, readProcessTable } from '../../../src/localrun/processes.js';
import { cliMesh, parseTable } from './cli-fixture.js';

test('up on a running mesh\'s addresses fails naming the port and the other state dir; nothing starts', { timeout: 240_000 }, async () => {
  const first = await cliMesh();
  const second = await cliMesh({ base: first.base });
  const b = first.base;
  const recorded: Array<{ pid: number; startTime: string | null }> = [];
  try {
    const up = await first.run(['up', '--nodes', '1']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    for (const r of Object.values(readProcessTable(first.stateDir))) recorded.push(r);
    const cpPid = readProcessTable(first.stateDir)['control-plane']!.pid;

    const again = await second.run(['up', '--nodes', '1']);
    assert.equal(again.code, 1, again.stdout + again.stderr);
    assert.equal(again.stdout, '');
    assert.equal(
      again.stderr,
      `error: EADDRINUSE 127.${b}.0.254:15012: a mesh is already running there (pid ${cpPid}, state dir ${first.stateDir}); control-plane cannot start. ` +
        `Use that mesh with --state-dir ${first.stateDir} (or L4MESH_STATE_DIR=${first.stateDir}), stop it with "l4mesh down --state-dir ${first.stateDir}", ` +
        'or start this one on other addresses with --address-base 127.B\n',
    );
    assert.deepEqual(readProcessTable(second.stateDir), {});

    // The first mesh's own `up` still sees itself running.
    const same = await first.run(['up']);
    assert.equal(same.code, 0);
    assert.match(same.stdout, /control-plane\s+already running \(pid \d+\)\n\s+ztunnel-node-1\s+already running/);
    assert.match(same.stdout, /Nothing to do: the mesh is already up\./);
  } finally {
    await second.run(['down']).catch(() => undefined);
    await first.run(['down']).catch(() => undefined);
    for (const r of recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    await first.cleanup();
    await second.cleanup();
  }
});

test('up names a foreign process holding a node proxy port and starts nothing', { timeout: 120_000 }, async () => {
  const mesh = await cliMesh();
  const b = mesh.base;
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(15008, `127.${b}.0.1`, resolve));
  try {
    const up = await mesh.run(['up', '--nodes', '1']);
    assert.equal(up.code, 1, up.stdout + up.stderr);
    assert.equal(up.stdout, '');
    assert.match(up.stderr, new RegExp(`^error: EADDRINUSE 127\\.${b}\\.0\\.1:15008: ztunnel-node-1 cannot listen there, it is in use by pid ${process.pid} \\(.*\\); stop it or start the mesh on other addresses with --address-base 127\\.B\\n$`));
    assert.deepEqual(readProcessTable(mesh.stateDir), {});
  } finally {
    await new Promise((r) => squatter.close(r));
    await mesh.run(['down']).catch(() => undefined);
    await mesh.cleanup();
  }
});

test('status: a live pid that does not hold its listeners is NotReady even when another mesh answers; a dead one Stopped', { timeout: 240_000 }, async () => {
  const first = await cliMesh();
  const second = await cliMesh({ base: first.base });
  const recorded: Array<{ pid: number; startTime: string | null }> = [];
  const scratch = await mkdtemp(join(tmpdir(), 'l4mesh-status-'));
  const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
  await new Promise((r) => sleeper.once('spawn', r));
  try {
    const up = await first.run(['up', '--nodes', '1']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    for (const r of Object.values(readProcessTable(first.stateDir))) recorded.push(r);
    // The second state dir records a control plane that is alive but listens nowhere (a `sleep`), and a
    // node proxy whose pid is gone — what a failed `up` used to leave while the first mesh answered.
    const dead = spawn('true', [], { stdio: 'ignore' });
    const deadPid = await new Promise<number>((resolve) => dead.once('exit', () => resolve(dead.pid!)));
    await writeFile(join(second.stateDir, 'layout.json'), JSON.stringify(makeLayout(first.base, 1, scratch)));
    await writeFile(
      join(second.stateDir, 'pids.json'),
      JSON.stringify({
        'control-plane': { pid: sleeper.pid, startTime: processStartTime(sleeper.pid!), command: ['sleep'] },
        'ztunnel-node-1': { pid: deadPid, startTime: '1', command: ['true'] },
      }),
    );
    const status = await second.run(['status']);
    assert.equal(status.code, 1);
    const rows = parseTable(status.stdout, ['NAME', 'PID', 'ADDRESS', 'STATUS']);
    assert.deepEqual(
      rows.map((r) => [r['NAME'], r['PID'], r['STATUS']]),
      [
        ['control-plane', String(sleeper.pid), 'NotReady'],
        ['ztunnel-node-1', '-', 'Stopped'],
        ['runtime', '-', 'Stopped'],
      ],
    );
    const own = parseTable((await first.run(['status'])).stdout, ['NAME', 'PID', 'ADDRESS', 'STATUS']);
    assert.deepEqual(own.map((r) => [r['NAME'], r['STATUS']]), [['control-plane', 'Ready'], ['ztunnel-node-1', 'Ready'], ['runtime', 'Running']]);
  } finally {
    sleeper.kill('SIGKILL');
    await first.run(['down']).catch(() => undefined);
    for (const r of recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    await first.cleanup();
    await second.cleanup();
    await rm(scratch, { recursive: true, force: true });
  }
});
