// Why a container does not run: describe shows its events (spawn error, exit code, restarts, probe
// failures), logs shows the spawn error, and logs --previous the crashed instance's output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, readProcessTable } from '../../../src/localrun/processes.js';
import { eventually } from '../../support/mesh.js';
import { cliMesh, parseTable, type CliMesh } from './cli-fixture.js';

function deployment(name: string, container: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
      - name: ${name}
        image: local/${name}
${container}`;
}

/** `crash` exits 3 on its first run and stays up on the second, so the previous instance is known. */
function manifests(marker: string): string {
  const crash = `if [ -e ${marker} ]; then echo second run; exec sleep 600; else touch ${marker}; echo first run; echo going down >&2; exit 3; fi`;
  return [
    deployment('missing', '        command: ["no-such-binary-l4mesh"]\n'),
    deployment('crash', `        command: ["sh", "-c", ${JSON.stringify(crash)}]\n`),
    deployment('unready', '        command: ["sleep", "600"]\n        readinessProbe:\n          tcpSocket:\n            port: 9999\n'),
  ].join('---\n');
}

async function podNamed(mesh: CliMesh, prefix: string): Promise<Record<string, string>> {
  const r = await mesh.run(['get', 'pods', '-o', 'wide']);
  const row = parseTable(r.stdout, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']).find((p) => p['NAME']!.startsWith(`${prefix}-`));
  assert.ok(row, `no ${prefix} pod in:\n${r.stdout}`);
  return row;
}

test('describe and logs explain a missing binary, a crash and a failing probe', { timeout: 240_000 }, async () => {
  const mesh = await cliMesh();
  const scratch = await mkdtemp(join(tmpdir(), 'l4mesh-describe-'));
  // Under a root mesh the pods run as nobody: they run in this directory and `crash` writes its marker here.
  await chmod(scratch, 0o777);
  const recorded: Array<{ pid: number; startTime: string | null }> = [];
  try {
    const up = await mesh.run(['up', '--nodes', '1']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    for (const r of Object.values(readProcessTable(mesh.stateDir))) recorded.push(r);
    const file = join(scratch, 'broken.yaml');
    await writeFile(file, manifests(join(scratch, 'crashed-once')));
    const applied = await mesh.run(['apply', '-f', file]);
    assert.equal(applied.stdout, 'deployment.apps/missing created\ndeployment.apps/crash created\ndeployment.apps/unready created\n');

    // The missing binary: RunContainerError, and its log says why.
    const missing = await eventually(async () => {
      const p = await podNamed(mesh, 'missing');
      return p['STATUS'] === 'RunContainerError' ? p : undefined;
    }, 60_000, 'missing pod in RunContainerError');
    const why = 'l4mesh: Error: cannot start container missing: spawn no-such-binary-l4mesh ENOENT (command[0] "no-such-binary-l4mesh" is run without a shell and looked up on PATH)\n';
    await eventually(async () => (await mesh.run(['logs', 'deploy/missing'])).stdout === why || undefined, 30_000, 'the spawn error in the logs');
    const dm = await mesh.run(['describe', 'pod', missing['NAME']!]);
    assert.equal(dm.code, 0, dm.stderr);
    assert.match(dm.stdout, /^Name: +missing-\S+\nNamespace: +default\n/);
    assert.match(dm.stdout, /\n    State: +Waiting\n      Reason: +RunContainerError\n      Message: +no-such-binary-l4mesh: spawn no-such-binary-l4mesh ENOENT\n/);
    assert.match(dm.stdout, new RegExp(`\\n  Normal +Scheduled +\\d+s +l4mesh-runtime +Successfully assigned default/${missing['NAME']} to node-1\\n`));
    assert.match(dm.stdout, /\n  Warning +Failed +\d+s( \(x\d+ over \d+s\))? +l4mesh-runtime +Error: cannot start container missing: spawn no-such-binary-l4mesh ENOENT /);

    // The crash: first run exits 3, second stays; logs shows the second, --previous the first.
    const crash = await eventually(async () => {
      const p = await podNamed(mesh, 'crash');
      return p['STATUS'] === 'Running' && /^1 \(\d+s ago\)$/.test(p['RESTARTS']!) ? p : undefined;
    }, 60_000, 'crash pod running after one restart');
    await eventually(async () => (await mesh.run(['logs', crash['NAME']!])).stdout === 'second run\n' || undefined, 30_000, 'the second run in the logs');
    const previous = await mesh.run(['logs', crash['NAME']!, '--previous']);
    assert.equal(previous.code, 0, previous.stderr);
    assert.equal(previous.stdout, 'first run\ngoing down\n');
    const noPrevious = await mesh.run(['logs', 'deploy/unready', '-p']);
    assert.equal(noPrevious.code, 1);
    assert.match(noPrevious.stderr, /^error: previous terminated container "unready" in pod "unready-\S+" not found\n$/);
    const dc = await mesh.run(['describe', 'pod', crash['NAME']!]);
    assert.match(dc.stdout, /\n    State: +Running\n      Started: +\S+\n    Last State: +Terminated\n      Exit Code: +3\n      Finished: +\S+\n    Ready: +True\n    Restart Count: +1\n/);
    assert.match(dc.stdout, /\n  Normal +Started +\d+s \(x2 over \d+s\) +l4mesh-runtime +Started container crash\n/);
    assert.match(dc.stdout, /\n  Warning +Error +\d+s +l4mesh-runtime +Container crash exited with code 3\n/);
    assert.match(dc.stdout, /\n  Warning +BackOff +\d+s +l4mesh-runtime +Back-off restarting failed container crash in pod crash-\S+\n/);

    // The probe that never passes: Unhealthy, naming what it dialled.
    const unready = await podNamed(mesh, 'unready');
    await eventually(async () => /Unhealthy/.test((await mesh.run(['describe', 'pod', unready['NAME']!])).stdout) || undefined, 30_000, 'an Unhealthy event');
    const du = await mesh.run(['describe', 'deploy/unready']);
    assert.match(du.stdout, /^Name: +unready\nNamespace: +default\n/);
    assert.match(du.stdout, /\nReplicas: +1 desired \| 1 total \| 0 available \| 1 unavailable\n/);
    assert.match(du.stdout, new RegExp(`\\n  Normal +SuccessfulCreate +\\d+s +l4mesh-runtime +Created pod: ${unready['NAME']}\\n`));
    assert.match(du.stdout, new RegExp(`\\n  Warning +Unhealthy +\\d+s( \\(x\\d+ over \\d+s\\))? +l4mesh-runtime +pod/${unready['NAME']}: Readiness probe failed: dial tcp ${unready['IP']!.replace(/\./g, '\\.')}:9999: no connection\\n`));

    const bad = await mesh.run(['describe', 'svc', 'x']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'error: describe shows pods and deployments; for services use "l4mesh get services x -o yaml"\nRun "l4mesh describe --help" for usage.\n');
    const notFound = await mesh.run(['describe', 'pod', 'nope']);
    assert.equal(notFound.code, 1);
    assert.equal(notFound.stderr, 'error: pods "nope" not found in namespace "default"\n');
  } finally {
    await mesh.run(['down']).catch(() => undefined);
    for (const r of recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    await mesh.cleanup();
    await rm(scratch, { recursive: true, force: true });
  }
});
