// Runs `npm run demo` (bounded), then every local-mode command block of docs/tasks/tcp-metrics.md, then
// those of docs/ops/troubleshooting-ztunnel.md, on one state dir and address block (guide-run.ts says how a
// block is checked). The netns-mode blocks run in guides-netns.test.ts: apart, so each file stays well
// inside the runner's per-file timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guideEnv, missingTools, pickShortBase, runDemo, runGuides, runScript, storedResources, type GuideMesh } from './guide-run.js';

test('npm run demo, then the TCP-metrics guide, then the troubleshooting guide, in one sequence on one state dir', { timeout: 1_800_000 }, async (t) => {
  const missing = missingTools();
  if (missing.length > 0) {
    t.skip(`the guides need ${missing.join(', ')} (apt-get install -y ${missing.join(' ')})`);
    return;
  }
  const mesh: GuideMesh = { base: await pickShortBase('local'), stateDir: await mkdtemp(join(tmpdir(), 'l4mesh-docs-')) };
  const env = guideEnv(mesh);
  try {
    await t.test('npm run demo (it leaves its resources in the state dir)', async () => {
      const { code, output } = await runDemo(mesh.stateDir, env);
      assert.equal(code, 0, output);
      assert.match(output, /The mesh is down\./);
      assert.ok(storedResources(mesh.stateDir).includes('deployments/default/waypoint.json'), 'the demo should leave its waypoint for the guides to start from');
    });
    await runGuides(t, 'local', mesh, env);
  } finally {
    // After a failure mid-guide the mesh may still run: stop it, and Prometheus with it.
    await runScript('l4mesh down', env);
    await rm(mesh.stateDir, { recursive: true, force: true });
  }
});
