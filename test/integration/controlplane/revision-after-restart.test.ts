// A restarted control plane never hands out a resourceVersion at or below one it handed out before,
// even when the newest version was a deletion (which leaves no file carrying it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCli, stateDirFor } from '../../support/processes.js';
import { PROCESS_START_TIMEOUT_MS } from '../../support/mesh.js';

const ADDRESS = '127.250.1.254';

function serviceYaml(name: string): string {
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    app: ${name}\n  ports:\n  - port: 9080\n`;
}

test('resourceVersion keeps growing across a control-plane restart after a delete', { timeout: 120_000 }, async (t) => {
  const { dir: stateDir, own } = await stateDirFor(t, 'l4mesh-rev-');
  const start = async () => {
    const cp = own(startCli(['control-plane', '--state-dir', stateDir, '--address', ADDRESS, '--vip-range', '127.250.3.0/24']));
    await cp.waitFor(/control plane ready/, PROCESS_START_TIMEOUT_MS);
    return cp;
  };
  const cp = await start();
  const token = (await readFile(join(stateDir, 'admin.token'), 'utf8')).trim();
  const api = async (method: string, path: string, body?: string) => {
    const res = await fetch(`http://${ADDRESS}:15014${path}`, { method, body, headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, json: (await res.json()) as { metadata: { resourceVersion: string } } };
  };
  assert.equal((await api('POST', '/apply', serviceYaml('a') + '---\n' + serviceYaml('b'))).status, 200);
  const deleted = await api('DELETE', '/api/v1/namespaces/default/services/b');
  assert.equal(deleted.status, 200);
  assert.equal(deleted.json.metadata.resourceVersion, '3');
  assert.equal((await api('GET', '/api/v1/services')).json.metadata.resourceVersion, '3');

  // SIGKILL: no shutdown hook may be what saves the counter.
  await cp.stop('SIGKILL');
  await start();
  assert.equal((await api('GET', '/api/v1/services')).json.metadata.resourceVersion, '3');
  assert.equal((await api('POST', '/apply', serviceYaml('c'))).status, 200);
  const c = await api('GET', '/api/v1/namespaces/default/services/c');
  assert.equal(c.json.metadata.resourceVersion, '4');
  assert.equal((await api('GET', '/api/v1/services')).json.metadata.resourceVersion, '4');
});
