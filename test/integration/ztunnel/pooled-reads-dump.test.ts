// A node proxy runs the pooled-reads self-test at start and shows the result in /config_dump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMesh } from '../../support/mesh.js';

test('/config_dump says pooled reads are on and self-tested; nothing is logged about them', async (t) => {
  const mesh = await startMesh({ nodes: 1 });
  t.after(() => mesh.stop());
  const dump = JSON.parse(await mesh.proxyGet(1, 15000, '/config_dump')) as { config: { pooledReads: unknown } };
  assert.deepEqual(dump.config.pooledReads, { active: true, selfTested: true });
  assert.doesNotMatch(mesh.nodes[0]!.proc.output(), /pooled reads/);
});
