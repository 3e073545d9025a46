// A netns-mode mesh for the CLI-driven netns tests: `up --mode netns` on a per-test namespace prefix with
// the default namespace enrolled (the one step local mode does not have), and a teardown that runs
// `down`, kills whatever it left, removes leftover namespaces, and then asserts there were none.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { isAlive, readProcessTable } from '../../../src/localrun/processes.js';
import { ip } from '../../support/netns.js';
import { cliMesh, type CliMesh } from '../cli/cli-fixture.js';
import { apply } from '../cli/check-fixture.js';

export interface NetnsMesh {
  mesh: CliMesh;
  prefix: string;
  /** The mesh's own processes as `up` recorded them: killed at teardown if `down` left any. */
  recorded: Array<{ pid: number; startTime: string | null }>;
}

export async function upNetnsMesh(prefix: string, nodes = 2): Promise<NetnsMesh> {
  const mesh = await cliMesh();
  const up = await mesh.run(['up', '--mode', 'netns', '--nodes', String(nodes), '--netns-prefix', prefix], 120_000);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const recorded = Object.values(readProcessTable(mesh.stateDir));
  // As Istio's ambient guides do: label the namespace so its pods are in the mesh.
  await apply(mesh, 'ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: default, labels: {istio.io/dataplane-mode: ambient}}\n');
  return { mesh, prefix, recorded };
}

export async function downNetnsMesh(m: NetnsMesh | undefined): Promise<void> {
  if (!m) return;
  const down = await m.mesh.run(['down'], 90_000).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
  for (const r of m.recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
  const left = ip('netns', 'list').split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`${m.prefix}-`));
  for (const n of left) spawnSync('ip', ['netns', 'del', n]);
  await m.mesh.cleanup();
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(left, []);
}
