// The guides' netns-mode blocks (`variant=netns`) against `l4mesh up --mode netns` on its own namespace
// prefix, one guide after the other (guide-run.ts says how a block is checked); root only. Checks that no
// namespace of the mesh is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ip, netnsSkipReason, uniqueTestPrefix } from '../../support/netns.js';
import { guideEnv, missingTools, pickShortBase, runGuides, runScript, type GuideMesh } from './guide-run.js';

// The netns run has no demo step: test/integration/demo/demo-netns.test.ts runs the netns demo, and each
// guide starts with `l4mesh down --purge` anyway.
test('the TCP-metrics guide, then the troubleshooting guide, in netns mode (their variant=netns blocks)', { skip: netnsSkipReason({ iptables: true, addon: true, commands: ['setpriv'] }), timeout: 1_800_000 }, async (t) => {
  const missing = missingTools();
  if (missing.length > 0) {
    t.skip(`the guides need ${missing.join(', ')} (apt-get install -y ${missing.join(' ')})`);
    return;
  }
  const mesh: GuideMesh = { base: await pickShortBase('netns'), stateDir: await mkdtemp(join(tmpdir(), 'l4mesh-docs-netns-')), prefix: uniqueTestPrefix() };
  const env = guideEnv(mesh);
  const left = () => ip('netns', 'list').split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`${mesh.prefix}-`));
  try {
    await runGuides(t, 'netns', mesh, env);
    assert.deepEqual(left(), [], 'the guides end with l4mesh down, which removes every namespace of the mesh');
  } finally {
    await runScript('l4mesh down', env);
    for (const n of left()) spawnSync('ip', ['netns', 'del', n]);
    await rm(mesh.stateDir, { recursive: true, force: true });
  }
});
