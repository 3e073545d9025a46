// Node tokens: random, several per node, stored only as SHA-256 hashes in a 0600 file.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NodeTokenStore } from '../../../src/controlplane/ca/node-tokens.js';

async function withStateDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-tokens-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a token names its node, verifies to it, and the file holds only its hash (mode 0600)', () =>
  withStateDir(async (dir) => {
    const store = await NodeTokenStore.open(dir);
    const token = await store.create('node-a');
    assert.match(token, /^l4n_node-a_[A-Za-z0-9_-]{32}$/);
    assert.equal(store.verify(token), 'node-a');

    const path = join(dir, 'node-tokens.json');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const text = await readFile(path, 'utf8');
    assert.equal(text.includes(token), false);
    assert.equal(text.includes(token.slice(-32)), false);
    const file = JSON.parse(text) as { version: number; tokens: Array<{ node: string; sha256: string }> };
    assert.equal(file.version, 1);
    assert.deepEqual(file.tokens.map(({ node, sha256 }) => ({ node, sha256 })), [
      { node: 'node-a', sha256: createHash('sha256').update(token).digest('hex') },
    ]);
  }));

test('unknown, truncated and empty tokens verify to undefined', () =>
  withStateDir(async (dir) => {
    const store = await NodeTokenStore.open(dir);
    const token = await store.create('node-a');
    assert.equal(store.verify(token.slice(0, -1)), undefined);
    assert.equal(store.verify(token + 'x'), undefined);
    assert.equal(store.verify(''), undefined);
    assert.equal(store.verify('l4n_node-a_' + 'A'.repeat(32)), undefined);
  }));

test('several tokens per node stay valid, survive a reopen, and revokeNode removes them all', () =>
  withStateDir(async (dir) => {
    const store = await NodeTokenStore.open(dir);
    const first = await store.create('node-a');
    const second = await store.create('node-a');
    const other = await store.create('node-b');
    assert.notEqual(first, second);

    const reopened = await NodeTokenStore.open(dir);
    assert.equal(reopened.verify(first), 'node-a');
    assert.equal(reopened.verify(second), 'node-a');
    assert.equal(reopened.verify(other), 'node-b');
    assert.deepEqual(reopened.nodes(), ['node-a', 'node-b']);

    assert.equal(await reopened.revokeNode('node-a'), 2);
    assert.equal(reopened.verify(first), undefined);
    assert.equal(reopened.verify(other), 'node-b');
  }));

test('a token issued by another process (e.g. the CLI) is picked up without a restart', () =>
  withStateDir(async (dir) => {
    const server = await NodeTokenStore.open(dir);
    const cli = await NodeTokenStore.open(dir);
    const token = await cli.create('node-c');
    assert.equal(server.verify(token), 'node-c');
  }));

test('a node name that cannot be part of a token is refused with L4MESH_ERR_CONFIG', () =>
  withStateDir(async (dir) => {
    const store = await NodeTokenStore.open(dir);
    await assert.rejects(store.create('bad name'), { code: 'L4MESH_ERR_CONFIG' });
    await assert.rejects(store.create(''), { code: 'L4MESH_ERR_CONFIG' });
  }));
