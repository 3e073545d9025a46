// `l4mesh apply -f` on input that is not a manifest: an endless file stops at the 16 MiB limit, a binary
// file is named, and an alias bomb or deep nesting is refused with the control plane's reason, naming the file
// (the CLI checks the file with the control plane's own parser and limits before it sends it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCli } from '../../support/processes.js';
import { ALIAS_BOMB, ALIAS_BOMB_MESSAGE, DEEP_NESTING, DEEP_NESTING_MESSAGE } from '../../unit/api/hostile-manifests.js';
import { cliMesh } from './cli-fixture.js';

test('apply -f /dev/zero stops reading at 16 MiB and names the file and the limit', { timeout: 60_000 }, async () => {
  const mesh = await cliMesh();
  try {
    const started = Date.now();
    const r = await mesh.run(['apply', '-f', '/dev/zero'], 30_000);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'error: /dev/zero: is larger than 16777216 bytes (16 MiB), the most the control plane accepts in one apply; split it into several files\n');
    // Reading 16 MiB is quick; reading 512 MB as before took tens of seconds on a loaded machine.
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  } finally {
    await mesh.cleanup();
  }
});

test('apply -f on a binary file names the file: a NUL byte, then invalid UTF-8', { timeout: 60_000 }, async () => {
  const mesh = await cliMesh();
  try {
    const nul = join(mesh.stateDir, 'image.yaml');
    await writeFile(nul, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]));
    const r1 = await mesh.run(['apply', '-f', nul]);
    assert.equal(r1.code, 1);
    assert.equal(r1.stderr, `error: ${nul}: is not a YAML or JSON manifest: it holds a NUL byte at offset 8 (a binary file?)\n`);
    const latin1 = join(mesh.stateDir, 'latin1.yaml');
    await writeFile(latin1, Buffer.concat([Buffer.from('metadata:\n  name: caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const r2 = await mesh.run(['apply', '-f', mesh.stateDir]);
    assert.equal(r2.code, 1);
    // A directory's files are read in name order: image.yaml fails first, named with the directory.
    assert.equal(r2.stderr, `error: ${join(mesh.stateDir, 'image.yaml')}: is not a YAML or JSON manifest: it holds a NUL byte at offset 8 (a binary file?)\n`);
    const r3 = await mesh.run(['apply', '-f', latin1]);
    assert.equal(r3.stderr, `error: ${latin1}: is not a YAML or JSON manifest: it is not UTF-8 text at byte 21 (a binary file, or another encoding?)\n`);
  } finally {
    await mesh.cleanup();
  }
});

test('apply -f with an alias bomb or 100,000 nested "[" gets the control plane\'s reason, prefixed with the file', { timeout: 120_000 }, async () => {
  const mesh = await cliMesh();
  const address = `127.${mesh.base}.0.254`;
  const cp = startCli(['control-plane', '--state-dir', mesh.stateDir, '--address', address, '--vip-range', `127.${mesh.base}.3.0/24`]);
  try {
    await cp.waitFor(/control plane ready/, 60_000);
    const bomb = join(mesh.stateDir, 'bomb.yaml');
    await writeFile(bomb, ALIAS_BOMB);
    const r1 = await mesh.run(['apply', '-f', bomb]);
    assert.equal(r1.code, 1);
    assert.equal(r1.stderr, `error: ${bomb}: ${ALIAS_BOMB_MESSAGE}\n`);
    const deep = join(mesh.stateDir, 'deep.yaml');
    await writeFile(deep, DEEP_NESTING);
    const r2 = await mesh.run(['apply', '-f', deep]);
    assert.equal(r2.code, 1);
    assert.equal(r2.stderr, `error: ${deep}: ${DEEP_NESTING_MESSAGE}\n`);
    // A good file still applies.
    const good = join(mesh.stateDir, 'sa.yaml');
    await writeFile(good, 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ratings\n');
    const r3 = await mesh.run(['apply', '-f', good]);
    assert.deepEqual({ code: r3.code, stdout: r3.stdout, stderr: r3.stderr }, { code: 0, stdout: 'serviceaccount/ratings created\n', stderr: '' });
  } finally {
    await cp.stop();
    await mesh.cleanup();
  }
});
