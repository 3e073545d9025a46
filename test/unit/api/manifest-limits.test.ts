// The parser's limits on what one manifest text may cost: nesting depth, alias expansion, document
// count and binary input, each refused with its own code and a message naming the limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifests } from '../../../src/api/manifest.js';
import { MAX_ALIAS_COUNT, MAX_DOCUMENTS, MAX_NESTING_DEPTH } from '../../../src/api/manifest-limits.js';
import { decodeManifestText } from '../../../src/api/manifest-text.js';
import { ALIAS_BOMB, TOO_MANY_DOCUMENTS_MESSAGE } from './hostile-manifests.js';

const SERVICE = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: ratings\nspec:\n  ports:\n  - port: 9080\n';

test('the limits are the documented values', () => {
  assert.deepEqual({ MAX_DOCUMENTS, MAX_NESTING_DEPTH, MAX_ALIAS_COUNT }, { MAX_DOCUMENTS: 10_000, MAX_NESTING_DEPTH: 100, MAX_ALIAS_COUNT: 100 });
});

test('an alias bomb is L4MESH_ERR_YAML_TOO_MANY_ALIASES naming the document and the limit', () => {
  assert.throws(() => parseManifests(SERVICE + '---\n' + ALIAS_BOMB), {
    code: 'L4MESH_ERR_YAML_TOO_MANY_ALIASES',
    message:
      'document 2: YAML aliases (*name) are used more than 100 times, counting the aliases inside what they repeat, the most a manifest may use ("billion laughs" protection); write the repeated parts out',
  });
});

test('a few aliases, as real manifests use them, still parse', () => {
  const text = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: ratings\n  labels: &l {app: ratings}\nspec:\n  selector: *l\n  ports:\n  - port: 9080\n';
  const [svc] = parseManifests(text);
  assert.deepEqual(svc!.spec, { selector: { app: 'ratings' }, ports: [{ port: 9080 }] });
});

test('100,000 nested "[" is L4MESH_ERR_YAML_TOO_DEEP at the 101st level, not a stack overflow', () => {
  const started = Date.now();
  assert.throws(() => parseManifests(SERVICE + '---\n' + '['.repeat(100_000)), {
    code: 'L4MESH_ERR_YAML_TOO_DEEP',
    message: 'document 2: line 9, column 102: mappings and sequences nest more than 100 levels deep, the most a manifest may use; flatten the structure',
  });
  // Refused while tokenizing the first 101 levels; the whole text took the CST parser 5 s before.
  assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
});

test('nesting: 100 levels parse, 101 are refused, for flow and block collections alike', () => {
  const flow = (k: number) => '['.repeat(k) + ']'.repeat(k);
  const block = (k: number) => Array.from({ length: k }, (_, i) => ' '.repeat(i) + 'a:').join('\n') + ' 1\n';
  // 100 levels get past the parser: what stops them is validation (not a manifest), not the depth limit.
  assert.throws(() => parseManifests(flow(100)), { code: 'L4MESH_ERR_INVALID_RESOURCE' });
  assert.throws(() => parseManifests(block(100)), { code: 'L4MESH_ERR_INVALID_RESOURCE' });
  assert.throws(() => parseManifests(flow(101)), { code: 'L4MESH_ERR_YAML_TOO_DEEP', message: /^document 1: line 1, column 102: .* more than 100 levels deep/ });
  assert.throws(() => parseManifests(block(101)), { code: 'L4MESH_ERR_YAML_TOO_DEEP', message: /^document 1: line 101, column \d+: .* more than 100 levels deep/ });
  // 5,000 levels of block mappings overflowed the composer's stack (near level 900) before.
  assert.throws(() => parseManifests(block(5_000)), { code: 'L4MESH_ERR_YAML_TOO_DEEP' });
});

const TOO_MANY = TOO_MANY_DOCUMENTS_MESSAGE;

test('more than 10,000 documents is L4MESH_ERR_TOO_MANY_DOCUMENTS, refused at document 10,001 of 1.5 million', () => {
  const started = Date.now();
  assert.throws(() => parseManifests('a: 1\n---\n'.repeat(1_500_000)), { code: 'L4MESH_ERR_TOO_MANY_DOCUMENTS', message: TOO_MANY });
  assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
});

test('the document limit counts every document, empty ones and List items included; at the limit it parses', () => {
  const limits = { maxDocuments: 3, maxNestingDepth: 100, maxAliasCount: 100 };
  const svc = (name: string) => SERVICE.replace('ratings', name);
  assert.equal(parseManifests([svc('a'), svc('b'), svc('c')].join('---\n'), limits).length, 3);
  const tooMany = { code: 'L4MESH_ERR_TOO_MANY_DOCUMENTS', message: TOO_MANY.replace('10000', '3') };
  assert.throws(() => parseManifests([svc('a'), svc('b'), svc('c'), svc('d')].join('---\n'), limits), tooMany);
  assert.throws(() => parseManifests([svc('a'), svc('b'), '', ''].join('---\n'), limits), tooMany);
  const list = (n: number) => `apiVersion: v1\nkind: List\nitems:\n${Array.from({ length: n }, (_, i) => `- {apiVersion: v1, kind: ServiceAccount, metadata: {name: sa${i}}}\n`).join('')}`;
  assert.equal(parseManifests(list(3), limits).length, 3);
  assert.throws(() => parseManifests(list(4), limits), tooMany);
  assert.throws(() => parseManifests(svc('a') + '---\n' + list(3), limits), tooMany);
});

test('bytes that are not UTF-8 text are L4MESH_ERR_NOT_TEXT naming the source and the offset', () => {
  assert.throws(() => decodeManifestText(Buffer.from('apiVersion: v1\0\0'), 'bin.yaml'), {
    code: 'L4MESH_ERR_NOT_TEXT',
    message: 'bin.yaml: is not a YAML or JSON manifest: it holds a NUL byte at offset 14 (a binary file?)',
  });
  assert.throws(() => decodeManifestText(Buffer.from([0x61, 0x3a, 0x20, 0xc3, 0xa9, 0x20, 0xff, 0x0a]), 'request body'), {
    code: 'L4MESH_ERR_NOT_TEXT',
    message: 'request body: is not a YAML or JSON manifest: it is not UTF-8 text at byte 6 (a binary file, or another encoding?)',
  });
  assert.throws(() => decodeManifestText(Buffer.from([0x61, 0xe2, 0x82]), 'x'), { message: /not UTF-8 text at byte 1 / });
  assert.equal(decodeManifestText(Buffer.from('\ufeffa: é\n'), 'x'), 'a: é\n');
});
