// Runs node's test runner on the compiled test files only (`*.test.js` under the given folders, default
// dist/test): Node 20's `node --test DIR` also runs every helper module in DIR (fixtures, support files)
// and counts each as a passing test, which inflates the totals it prints.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...testFiles(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
// Without a timeout, a test file whose process never exits (a socket or server left open) hangs the whole
// run with no word of which file; with one, node reports that file as timed out by its path and fails.
const DEFAULT_TEST_TIMEOUT_MS = 300_000;
if (!flags.some((f) => f.startsWith('--test-timeout'))) flags.push(`--test-timeout=${DEFAULT_TEST_TIMEOUT_MS}`);
const dirs = args.filter((a) => !a.startsWith('--'));
const files = (dirs.length > 0 ? dirs : ['dist/test']).flatMap(testFiles);
if (files.length === 0) {
  process.stderr.write(`run-tests: no *.test.js under ${(dirs.length > 0 ? dirs : ['dist/test']).join(', ')} — was the build run?\n`);
  process.exit(1);
}
process.stderr.write(`run-tests: ${files.length} test files\n`);
const r = spawnSync(process.execPath, ['--test', ...flags, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
