// `l4mesh apply -f` and `delete -f` check every file as the control plane will before they send the first:
// a broken last file leaves the mesh as it was, and a broken file is named even with no control plane.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCli } from '../../support/processes.js';
import { cliMesh, type CliMesh } from './cli-fixture.js';

const GOOD = 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ratings\n';
/** The third line opens a flow map that never closes. */
const BROKEN_YAML = 'apiVersion: v1\nkind: Service\nmetadata: {name: x\n';
const BROKEN_YAML_REASON = 'document 1: line 4, column 1: Flow map in block collection must be sufficiently indented and end with a }';
/** Valid YAML; the second document's name is not a DNS label. */
const INVALID_RESOURCE = `${GOOD}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: Bad_Name\nspec:\n  ports:\n  - port: 80\n`;
const INVALID_RESOURCE_REASON =
  'document 2: Service/Bad_Name: metadata.name: must be an RFC 1035 label (lowercase letters, digits and "-", starting with a letter and ending with a letter or digit, at most 63 characters), got "Bad_Name"';

async function files(mesh: CliMesh): Promise<{ good: string; broken: string; invalid: string }> {
  const good = join(mesh.manifestDir, 'good.yaml');
  const broken = join(mesh.manifestDir, 'broken.yaml');
  const invalid = join(mesh.manifestDir, 'invalid.yaml');
  await writeFile(good, GOOD);
  await writeFile(broken, BROKEN_YAML);
  await writeFile(invalid, INVALID_RESOURCE);
  return { good, broken, invalid };
}

test('with no control plane, a broken file is named with its reason; a good one reaches the missing control plane', { timeout: 60_000 }, async () => {
  const mesh = await cliMesh();
  try {
    const f = await files(mesh);
    const broken = await mesh.run(['apply', '-f', f.good, '-f', f.broken]);
    assert.deepEqual(broken, { code: 1, stdout: '', stderr: `error: ${f.broken}: ${BROKEN_YAML_REASON}\n` });
    const invalid = await mesh.run(['apply', '-f', f.invalid]);
    assert.deepEqual(invalid, { code: 1, stdout: '', stderr: `error: ${f.invalid}: ${INVALID_RESOURCE_REASON}\n` });
    const deleted = await mesh.run(['delete', '-f', f.broken]);
    assert.deepEqual(deleted, { code: 1, stdout: '', stderr: `error: ${f.broken}: ${BROKEN_YAML_REASON}\n` });
    // The control: the same command with good files only gets as far as looking for the control plane.
    const good = await mesh.run(['apply', '-f', f.good]);
    assert.equal(good.code, 1);
    assert.match(good.stderr, /^error: no control plane at /);
  } finally {
    await mesh.cleanup();
  }
});

test('apply -f GOOD -f BROKEN applies nothing; delete -f GOOD -f INVALID deletes nothing', { timeout: 120_000 }, async () => {
  const mesh = await cliMesh();
  const cp = startCli(['control-plane', '--state-dir', mesh.stateDir, '--address', `127.${mesh.base}.0.254`, '--vip-range', `127.${mesh.base}.3.0/24`]);
  try {
    await cp.waitFor(/control plane ready/, 60_000);
    const f = await files(mesh);
    for (const second of [f.broken, f.invalid]) {
      const r = await mesh.run(['apply', '-f', f.good, '-f', second]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `error: ${second}: ${second === f.broken ? BROKEN_YAML_REASON : INVALID_RESOURCE_REASON}\n`);
    }
    // "created", not "unchanged": neither failed command applied the first file.
    const applied = await mesh.run(['apply', '-f', f.good]);
    assert.deepEqual(applied, { code: 0, stdout: 'serviceaccount/ratings created\n', stderr: '' });
    const notDeleted = await mesh.run(['delete', '-f', f.good, '-f', f.invalid]);
    assert.deepEqual(notDeleted, { code: 1, stdout: '', stderr: `error: ${f.invalid}: ${INVALID_RESOURCE_REASON}\n` });
    const deleted = await mesh.run(['delete', '-f', f.good]);
    assert.deepEqual(deleted, { code: 0, stdout: 'serviceaccount "ratings" deleted\n', stderr: '' });
  } finally {
    await cp.stop();
    await mesh.cleanup();
  }
});
