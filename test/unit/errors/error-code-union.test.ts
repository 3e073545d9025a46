// Every L4MESH_ERR_* code in the one union is raised somewhere in src/, and every code raised is in the union.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorCodeMismatch, scanErrorCodes } from '../../support/error-code-scan.js';

// dist/test/unit/errors/ → the repository's src/ (the TypeScript sources, not the build).
const SRC = fileURLToPath(new URL('../../../../src', import.meta.url));

test('the codes raised in src/ are exactly the codes of the ErrorCode union', () => {
  const scan = scanErrorCodes(SRC);
  assert.ok(scan.union.length > 20, `read only ${scan.union.length} codes from src/errors/index.ts`);
  assert.equal(new Set(scan.union).size, scan.union.length, 'a code is listed twice in the union');
  assert.deepEqual(errorCodeMismatch(scan), { neverRaised: [], notInUnion: [] });
  assert.deepEqual([...scan.raised.keys()].sort(), [...scan.union].sort());
});

test('the check catches a code nobody raises and a code raised outside the union', () => {
  const root = mkdtempSync(join(tmpdir(), 'l4mesh-error-codes-'));
  try {
    mkdirSync(join(root, 'errors'));
    mkdirSync(join(root, 'feature'));
    writeFileSync(
      join(root, 'errors', 'index.ts'),
      "export type ErrorCode = 'L4MESH_ERR_USED' | 'L4MESH_ERR_ONLY_CHECKED' | 'L4MESH_ERR_UNUSED';\n" +
        "export class L4meshError extends Error { constructor(readonly code: ErrorCode, message: string) { super(message); } }\n",
    );
    writeFileSync(
      join(root, 'feature', 'raise.ts'),
      [
        "import { L4meshError } from '../errors/index.js';",
        "// 'L4MESH_ERR_IN_A_COMMENT' is not a raise",
        "interface Body { code: 'L4MESH_ERR_IN_A_TYPE' }",
        "export function f(e: { code: string }): unknown {",
        "  if (e.code === 'L4MESH_ERR_ONLY_CHECKED') return undefined;",
        "  switch (e.code) { case 'L4MESH_ERR_IN_A_CASE': return undefined; }",
        "  if (Math.random() > 2) return { error: { code: `L4MESH_ERR_STRAY`, message: 'x' } };",
        "  return new L4meshError('L4MESH_ERR_USED', 'ok');",
        '}',
      ].join('\n'),
    );
    const scan = scanErrorCodes(root);
    assert.deepEqual(scan.union, ['L4MESH_ERR_USED', 'L4MESH_ERR_ONLY_CHECKED', 'L4MESH_ERR_UNUSED']);
    assert.deepEqual(Object.fromEntries(scan.raised), {
      L4MESH_ERR_STRAY: ['feature/raise.ts:7'],
      L4MESH_ERR_USED: ['feature/raise.ts:8'],
    });
    assert.deepEqual(errorCodeMismatch(scan), {
      neverRaised: ['L4MESH_ERR_ONLY_CHECKED', 'L4MESH_ERR_UNUSED'],
      notInUnion: ['L4MESH_ERR_STRAY'],
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
