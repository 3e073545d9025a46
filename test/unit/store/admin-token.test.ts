// The admin token is created once per state directory with owner-only permissions and read back later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureAdminToken } from '../../../src/controlplane/store/index.js';
import { tempStateDir } from './fixtures.js';

test('first start creates admin.token with 64 hex characters, mode 0600; later starts read the same token', async (t) => {
  const dir = await tempStateDir(t);
  const token = await ensureAdminToken(dir);
  assert.match(token, /^[0-9a-f]{64}$/);
  const file = join(dir, 'admin.token');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal(await readFile(file, 'utf8'), token + '\n');
  assert.deepEqual(await readdir(dir), ['admin.token']);
  assert.equal(await ensureAdminToken(dir), token);
  const other = await tempStateDir(t);
  assert.notEqual(await ensureAdminToken(other), token);
});

test('a damaged token file is refused with an error saying how to recover', async (t) => {
  const dir = await tempStateDir(t);
  await writeFile(join(dir, 'admin.token'), 'short\n');
  await assert.rejects(ensureAdminToken(dir), {
    code: 'L4MESH_ERR_CONFIG',
    message: `the admin token ${join(dir, 'admin.token')} is not 64 hex characters; delete it to have the control plane create a new one (clients must then use the new token)`,
  });
});
