// YAML syntax errors name the document, line and column, with code L4MESH_ERR_YAML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifests } from '../../../src/api/manifest.js';

test('an unclosed flow sequence is reported at its document, line and column', () => {
  const text = ['apiVersion: v1', 'kind: ServiceAccount', 'metadata:', '  name: a', '---', 'apiVersion: v1', 'kind: Service', 'metadata: {name: b', ''].join('\n');
  assert.throws(() => parseManifests(text), (err: unknown) => {
    const e = err as { code: string; message: string };
    assert.equal(e.code, 'L4MESH_ERR_YAML');
    assert.match(e.message, /^document 2: line 9, column 1: /);
    return true;
  });
});

test('a nested mapping on one line is reported where it starts', () => {
  const text = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: a: b\n';
  assert.throws(() => parseManifests(text), {
    code: 'L4MESH_ERR_YAML',
    message: 'document 1: line 4, column 9: Nested mappings are not allowed in compact mappings',
  });
});

test('a duplicate key is a syntax error, not a silent overwrite', () => {
  const text = '---\napiVersion: v1\nkind: Service\nkind: ServiceAccount\nmetadata:\n  name: a\n';
  assert.throws(() => parseManifests(text), {
    code: 'L4MESH_ERR_YAML',
    message: 'document 1: line 4, column 1: Map keys must be unique',
  });
});

test('empty documents still count in the numbering', () => {
  const text = '---\n---\n# comment only\n---\nfoo: [\n';
  assert.throws(() => parseManifests(text), (err: unknown) => {
    const e = err as { code: string; message: string };
    assert.equal(e.code, 'L4MESH_ERR_YAML');
    assert.match(e.message, /^document 3: line \d+, column \d+: /);
    return true;
  });
});
