// The state dir: --state-dir, else $L4MESH_STATE_DIR, else per user under $XDG_STATE_HOME or ~/.local/state;
// a path that cannot be created fails at once naming it (Node's recursive mkdir spins forever under /proc).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStateDir, defaultStateDir, resolveStateDir, stateDirSource } from '../../../src/config/paths.js';
import { cliCommand } from '../../support/processes.js';

test('the default is per user, not under the current directory', () => {
  assert.equal(defaultStateDir({}), join(homedir(), '.local', 'state', 'l4mesh'));
  assert.equal(defaultStateDir({ XDG_STATE_HOME: '/var/xdg' }), '/var/xdg/l4mesh');
  // The XDG spec: a relative XDG_STATE_HOME is invalid and ignored.
  assert.equal(defaultStateDir({ XDG_STATE_HOME: 'rel/dir' }), join(homedir(), '.local', 'state', 'l4mesh'));
  assert.equal(resolveStateDir(undefined, { XDG_STATE_HOME: '/var/xdg' }), '/var/xdg/l4mesh');
  assert.equal(resolveStateDir(undefined, { L4MESH_STATE_DIR: '/srv/mesh', XDG_STATE_HOME: '/var/xdg' }), '/srv/mesh');
  assert.equal(resolveStateDir('/flag/dir', { L4MESH_STATE_DIR: '/srv/mesh' }), '/flag/dir');
  assert.equal(resolveStateDir('rel', {}), join(process.cwd(), 'rel'));
  assert.deepEqual([stateDirSource('x', {}), stateDirSource(undefined, { L4MESH_STATE_DIR: '/a' }), stateDirSource(undefined, {})], ['--state-dir', '$L4MESH_STATE_DIR', 'the default ${XDG_STATE_HOME:-~/.local/state}/l4mesh']);
});

test('createStateDir makes missing levels (mode 0700) and rejects what cannot be a directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-statedir-'));
  try {
    createStateDir(join(dir, 'a', 'b'));
    assert.equal((await stat(join(dir, 'a', 'b'))).mode & 0o777, 0o700);
    createStateDir(join(dir, 'a', 'b')); // again: nothing to do
    await writeFile(join(dir, 'file'), 'x');
    assert.throws(() => createStateDir(join(dir, 'file')), { code: 'L4MESH_ERR_CONFIG', message: `state dir ${join(dir, 'file')} exists and is not a directory; choose another with --state-dir or $L4MESH_STATE_DIR` });
    assert.throws(() => createStateDir(join(dir, 'file', 'sub')), { code: 'L4MESH_ERR_CONFIG', message: new RegExp(`^cannot create the state dir ${join(dir, 'file', 'sub')}: mkdir ${join(dir, 'file', 'sub')}: ENOTDIR;`) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('up --state-dir /proc/x fails at once naming the path', () => {
  const { command, args } = cliCommand(['up', '--state-dir', '/proc/l4mesh-x']);
  // 127.77 is never bound: even a wrong success could not disturb another mesh.
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, L4MESH_LOCAL_NET: '127.77' } });
  assert.equal(r.signal, null, 'up did not finish within 30 s');
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'error: cannot create the state dir /proc/l4mesh-x: mkdir /proc/l4mesh-x: ENOENT; choose a writable directory with --state-dir or $L4MESH_STATE_DIR\n');
});
