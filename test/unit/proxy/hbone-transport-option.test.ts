// The HBONE transport: --hbone-transport, else L4MESH_HBONE_TRANSPORT, else l4mesh; a bad value fails naming both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proxyCommonConfig } from '../../../src/dataplane/proxy/proxy-options.js';

test('hbone transport: flag over environment over the l4mesh default', () => {
  assert.equal(proxyCommonConfig({}, 'node-1', {}).hboneTransport, 'l4mesh');
  assert.equal(proxyCommonConfig({}, 'node-1', { L4MESH_HBONE_TRANSPORT: 'node' }).hboneTransport, 'node');
  assert.equal(proxyCommonConfig({ 'hbone-transport': 'l4mesh' }, 'node-1', { L4MESH_HBONE_TRANSPORT: 'node' }).hboneTransport, 'l4mesh');
  assert.equal(proxyCommonConfig({ 'hbone-transport': 'node' }, 'node-1', {}).hboneTransport, 'node');
});

test('a bad hbone transport is a config error naming the flag and the variable', () => {
  assert.throws(() => proxyCommonConfig({}, 'node-1', { L4MESH_HBONE_TRANSPORT: 'nghttp2' }), {
    code: 'L4MESH_ERR_CONFIG',
    message: '--hbone-transport (env L4MESH_HBONE_TRANSPORT) must be "node" or "l4mesh", got "nghttp2"',
  });
});
