// Manifests mean the same whichever client applies them: $(VAR) expansion as the kubelet does it, sample
// commands rooted at $(L4MESH_PACKAGE_ROOT) naming files that exist, and the README's curl naming a real file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { packageRoot } from '../../../src/config/paths.js';
import { ENV_PACKAGE_ROOT, expandVars } from '../../../src/localrun/command-expansion.js';
import { podEnv } from '../../../src/localrun/pod-env.js';

test('$(VAR) expands from the given variables; $$ escapes; unknown references stay', () => {
  const vars = { A: 'x', L4MESH_PACKAGE_ROOT: '/opt/l4mesh' };
  assert.deepEqual(
    ['$(A)/b', '$(L4MESH_PACKAGE_ROOT)/dist/a.js', '$$(A)', '$(NOPE)', 'a$b', '$(A)$(A)', '$$$(A)'].map((a) => expandVars(a, vars)),
    ['x/b', '/opt/l4mesh/dist/a.js', '$(A)', '$(NOPE)', 'a$b', 'xx', '$x'],
  );
});

test('every pod gets L4MESH_PACKAGE_ROOT, the package directory', () => {
  const env = podEnv({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: {}, status: { podIP: '127.1.0.2' } }, []);
  assert.equal(env[ENV_PACKAGE_ROOT], packageRoot());
});

test('sample manifests name their programs from $(L4MESH_PACKAGE_ROOT), and those exist once built', () => {
  const dir = join(packageRoot(), 'samples', 'bookinfo', 'platform', 'local');
  const checked: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Array<{ command?: string[]; args?: string[] }> } } } } | null;
      if (o?.kind !== 'Deployment') continue;
      for (const c of o.spec?.template?.spec?.containers ?? []) {
        for (const a of [...(c.command ?? []), ...(c.args ?? [])].filter((x) => x.includes('/'))) {
          assert.match(a, /^\$\(L4MESH_PACKAGE_ROOT\)\//, `${f}: "${a}" depends on the directory it is applied from`);
          const path = expandVars(a, { [ENV_PACKAGE_ROOT]: packageRoot() });
          assert.ok(isAbsolute(path) && existsSync(path), `${f}: ${path} does not exist (npm run build)`);
          checked.push(a.replace(/^.*\//, ''));
        }
      }
    }
  }
  assert.deepEqual([...new Set(checked)].sort(), ['database.js', 'details.js', 'productpage.js', 'ratings.js', 'reviews.js']);
});

test("the README's curl to /apply sends a file that exists", () => {
  const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
  const files = [...readme.matchAll(/curl [^\n]*--data-binary @(\S+)[^\n]*\/apply/g)].map((m) => m[1]!);
  assert.deepEqual(files, ['samples/bookinfo/platform/local/bookinfo.yaml']);
  assert.ok(existsSync(join(packageRoot(), files[0]!)));
});
