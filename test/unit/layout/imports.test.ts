// The folder rules of docs/architecture.md: no import between the role folders (ztunnel, sidecar, waypoint),
// and src/dataplane imports no role folder and nothing from src/controlplane.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';

const ROLE_FOLDERS = ['ztunnel', 'sidecar', 'waypoint'];
/** Static imports and re-exports (`from '…'`), side-effect imports and dynamic `import('…')`. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

/** The top folder under src/ of a path relative to src/ (`dataplane/outbound/route.ts` → `dataplane`). */
function topFolder(path: string): string {
  const i = path.indexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** Every import that breaks a rule, as `importer → imported` (paths relative to src/). */
function layoutViolations(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    const from = topFolder(file);
    for (const m of text.matchAll(IMPORT)) {
      const target = posix.normalize(posix.join(posix.dirname(file), m[1]!));
      const to = topFolder(target);
      if (to === from) continue;
      const roleToRole = ROLE_FOLDERS.includes(from) && ROLE_FOLDERS.includes(to);
      const dataplaneUp = from === 'dataplane' && (ROLE_FOLDERS.includes(to) || to === 'controlplane');
      if (roleToRole || dataplaneUp) out.push(`${file} → ${target}`);
    }
  }
  return out.sort();
}

function sourcesUnder(dir: string, root: string, out = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourcesUnder(path, root, out);
    else if (name.endsWith('.ts')) out.set(relative(root, path).split(sep).join('/'), readFileSync(path, 'utf8'));
  }
  return out;
}

test('src/: no import between role folders, none from dataplane into a role folder or the control plane', () => {
  const src = join(packageRoot(), 'src');
  const files = sourcesUnder(src, src);
  // The walk found the tree (a wrong root would pass with nothing to check).
  assert.ok(files.has('dataplane/proxy/proxy-runtime.ts') && files.has('ztunnel/node-proxy.ts') && files.has('waypoint/waypoint.ts'));
  assert.deepEqual(layoutViolations(files), []);
});

test('the check names each forbidden import and lets allowed ones through', () => {
  const files = new Map([
    ['sidecar/sidecar.ts', "import { OutboundHandler } from '../ztunnel/outbound.js';\nimport { x } from '../dataplane/proxy/proxy-runtime.js';"],
    ['waypoint/upstream.ts', "export { PORTS } from '../ztunnel/config.js';"],
    ['ztunnel/node-proxy.ts', "const m = await import('../sidecar/config.js');\nimport type { Labels } from '../api/labels.js';"],
    ['dataplane/outbound/route.ts', "import { SIDECAR_PORTS } from '../../sidecar/config.js';\nimport { splice } from '../splice.js';"],
    ['dataplane/mx/peer-metadata.ts', "import { telemetryLabels } from '../../controlplane/registry/labels.js';"],
    ['controlplane/server.ts', "import { PORTS } from '../ztunnel/config.js';"],
    ['cli/sidecar.ts', "import { Sidecar } from '../sidecar/sidecar.js';"],
  ]);
  assert.deepEqual(layoutViolations(files), [
    'dataplane/mx/peer-metadata.ts → controlplane/registry/labels.js',
    'dataplane/outbound/route.ts → sidecar/config.js',
    'sidecar/sidecar.ts → ztunnel/outbound.js',
    'waypoint/upstream.ts → ztunnel/config.js',
    'ztunnel/node-proxy.ts → sidecar/config.js',
  ]);
});
