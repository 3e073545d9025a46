// The drain period: --drain-duration, else L4MESH_DRAIN_DURATION, else 5 s; a bad value fails naming both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DRAIN_MS, proxyCommonConfig } from '../../../src/dataplane/proxy/proxy-options.js';

test('drain duration: flag over environment over the 5 s default', () => {
  assert.equal(DEFAULT_DRAIN_MS, 5_000);
  assert.equal(proxyCommonConfig({}, 'node-1', {}).drainMs, 5_000);
  assert.equal(proxyCommonConfig({}, 'node-1', { L4MESH_DRAIN_DURATION: '30s' }).drainMs, 30_000);
  assert.equal(proxyCommonConfig({ 'drain-duration': '250ms' }, 'node-1', { L4MESH_DRAIN_DURATION: '30s' }).drainMs, 250);
  assert.equal(proxyCommonConfig({}, 'node-1', { L4MESH_DRAIN_DURATION: '0' }).drainMs, 0);
});

test('a bad drain duration is a config error naming the flag and the variable', () => {
  assert.throws(
    () => proxyCommonConfig({}, 'node-1', { L4MESH_DRAIN_DURATION: 'soon' }),
    (err: Error & { code?: string }) => err.code === 'L4MESH_ERR_CONFIG' && err.message.startsWith('--drain-duration (env L4MESH_DRAIN_DURATION): invalid duration "soon"'),
  );
});
