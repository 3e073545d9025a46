// A sample manifest POSTed to the control plane's /apply (the README's curl) runs as it does through
// `l4mesh apply`: its commands do not depend on the client's or `up`'s directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { packageRoot } from '../../../src/config/paths.js';
import { isAlive, readProcessTable } from '../../../src/localrun/processes.js';
import { eventually } from '../../support/mesh.js';
import { cliMesh, parseTable } from './cli-fixture.js';

test('bookinfo details applied with a raw POST /apply becomes Ready with mesh started from /', { timeout: 240_000 }, async () => {
  const mesh = await cliMesh();
  const recorded: Array<{ pid: number; startTime: string | null }> = [];
  try {
    // `up` from / : pods of manifests without a recorded directory used to run there.
    const up = await mesh.run(['up', '--nodes', '1'], 60_000, { cwd: '/' });
    assert.equal(up.code, 0, up.stdout + up.stderr);
    for (const r of Object.values(readProcessTable(mesh.stateDir))) recorded.push(r);

    const text = await readFile(join(packageRoot(), 'samples', 'bookinfo', 'platform', 'local', 'bookinfo.yaml'), 'utf8');
    const details = parseAllDocuments(text)
      .map((d) => d.toJS() as { kind: string; metadata: { name: string; labels?: Record<string, string> } })
      .filter((o) => o && (o.metadata.name === 'details' || o.metadata.name === 'details-v1' || o.metadata.name === 'bookinfo-details'));
    assert.deepEqual(details.map((o) => o.kind), ['Service', 'ServiceAccount', 'Deployment']);
    const token = (await readFile(join(mesh.stateDir, 'admin.token'), 'utf8')).trim();
    const res = await fetch(`http://127.${mesh.base}.0.254:15014/apply`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml' },
      body: details.map((o) => JSON.stringify(o)).join('\n---\n'),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(((await res.json()) as { results: Array<{ name: string; action: string }> }).results.map((r) => [r.name, r.action]), [
      ['details', 'created'],
      ['bookinfo-details', 'created'],
      ['details-v1', 'created'],
    ]);

    const row = await eventually(async () => {
      const r = await mesh.run(['get', 'pods']);
      const rows = parseTable(r.stdout, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
      // A pod that crashed even once failed to find its program: stop waiting and show it.
      if (rows[0] && rows[0]['RESTARTS'] !== '0') return rows[0];
      return rows[0]?.['READY'] === '1/1' ? rows[0] : undefined;
    }, 90_000, 'the details pod Ready');
    const logs = await mesh.run(['logs', 'deploy/details-v1']);
    assert.deepEqual([row['READY'], row['STATUS'], row['RESTARTS']], ['1/1', 'Running', '0'], logs.stdout);
    assert.doesNotMatch(logs.stdout, /Cannot find module/);
  } finally {
    await mesh.run(['down']).catch(() => undefined);
    for (const r of recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    await mesh.cleanup();
  }
});
