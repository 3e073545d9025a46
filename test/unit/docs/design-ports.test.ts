// docs/design.md's ports table is what the code binds: each row's port is the value of the constant the
// row names in src/config/mesh-constants.ts, and every port constant has a row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import * as constants from '../../../src/config/mesh-constants.js';

test('each row of the ports table in docs/design.md matches its constant, and every port constant has a row', () => {
  const text = readFileSync(join(packageRoot(), 'docs', 'design.md'), 'utf8');
  const rows = [...text.matchAll(/^\| (\d+) \|.*\| `([A-Z_]+_PORT)` \|$/gm)].map((m) => [m[2]!, Number(m[1])] as const);
  const portConstants = Object.entries(constants).filter(([name]) => name.endsWith('_PORT'));
  assert.deepEqual(Object.fromEntries(rows), Object.fromEntries(portConstants));
  assert.equal(rows.length, portConstants.length);
});
