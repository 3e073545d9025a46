// On the Node the tests run on, the start-up self-test passes: pooled reads stay on, nothing is logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPooledReads } from '../../../src/dataplane/pooled-reads-self-test.js';
import { pooledReadsStatus } from '../../../src/dataplane/pooled-reads.js';
import { capturingLogger } from './self-test-log.js';

test('the self-test exchanges bytes through an adopted socket pair and keeps pooled reads on', async () => {
  assert.deepEqual(pooledReadsStatus(), { active: true, selfTested: false });
  const { log, lines } = capturingLogger();
  const status = await checkPooledReads(log);
  assert.deepEqual(status, { active: true, selfTested: true });
  assert.deepEqual(pooledReadsStatus(), { active: true, selfTested: true });
  assert.deepEqual(lines, []);
});
