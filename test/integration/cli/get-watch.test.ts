// `l4mesh get svc -w` prints the table, then one row per change as the watch API streams it, and keeps
// following across a control-plane restart (resuming from the last version it printed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeLayout, writeLayout } from '../../../src/localrun/layout.js';
import { startCli, stateDirFor } from '../../support/processes.js';
import { PROCESS_START_TIMEOUT_MS } from '../../support/mesh.js';

const ADDRESS = '127.250.2.254';
const WATCH_TIMEOUT_MS = 30_000;

function serviceYaml(name: string, clusterIP: string, port = 80): string {
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  clusterIP: ${clusterIP}\n  selector:\n    app: ${name}\n  ports:\n  - port: ${port}\n`;
}

test('get -w prints the list, then each change, and resumes after a control-plane restart', { timeout: 180_000 }, async (t) => {
  const { dir: stateDir, own } = await stateDirFor(t, 'l4mesh-getw-');
  await writeLayout(stateDir, { ...makeLayout(null, 1, stateDir), controlPlaneAddress: ADDRESS, httpPort: 15014 });
  const startCp = async () => {
    const cp = own(startCli(['control-plane', '--state-dir', stateDir, '--address', ADDRESS, '--vip-range', '127.250.5.0/24']));
    await cp.waitFor(/control plane ready/, PROCESS_START_TIMEOUT_MS);
    return cp;
  };
  let cp = await startCp();
  const token = (await readFile(join(stateDir, 'admin.token'), 'utf8')).trim();
  const apply = async (yaml: string) => {
    const res = await fetch(`http://${ADDRESS}:15014/apply`, { method: 'POST', body: yaml, headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, await res.text());
  };
  const remove = async (name: string) => {
    const res = await fetch(`http://${ADDRESS}:15014/api/v1/namespaces/default/services/${name}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
  };
  await apply(serviceYaml('alpha', '10.96.0.10'));
  const get = own(startCli(['get', 'svc', '-w', '-o', 'name', '--state-dir', stateDir]));
  await get.waitFor(/service\/alpha\n/, WATCH_TIMEOUT_MS);
  await apply(serviceYaml('beta', '10.96.0.11'));
  await apply(serviceYaml('alpha', '10.96.0.10', 81));
  await remove('beta');
  await get.waitFor(/service\/alpha\nservice\/beta\nservice\/alpha\nservice\/beta\n$/, WATCH_TIMEOUT_MS);

  // The table form: a header and the list, then rows padded to the same columns.
  const table = own(startCli(['get', 'svc', '-w', '--state-dir', stateDir]));
  await table.waitFor(/NAME +TYPE +CLUSTER-IP/, WATCH_TIMEOUT_MS);
  await apply(serviceYaml('gamma', '10.96.0.12'));
  const [row] = await table.waitFor(/\ngamma +ClusterIP +10\.96\.0\.12 +<none> +80\/TCP +\d+s\n/, WATCH_TIMEOUT_MS);
  assert.ok(row);
  assert.equal(table.output().split('\n').filter((l) => l.startsWith('NAME')).length, 1);

  // A restart with no change meanwhile: the watch resumes from the last version and misses nothing after.
  await cp.stop('SIGKILL');
  cp = await startCp();
  let applied = false;
  for (let i = 0; i < 60 && !applied; i++) {
    try {
      await apply(serviceYaml('delta', '10.96.0.13'));
      applied = true;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await get.waitFor(/service\/alpha\nservice\/beta\nservice\/alpha\nservice\/beta\n(.*resuming\n)*service\/gamma\n(.*resuming\n)*service\/delta\n/, WATCH_TIMEOUT_MS);
  assert.equal(await get.stop('SIGINT'), 0);
});
