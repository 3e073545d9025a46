// The SNI a client sends a sidecar: Istio's outbound_.<port>_.<subset>_.<hostname>, and its parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSidecarServerName, sidecarServerName } from '../../../src/dataplane/tls/sidecar-server-name.js';

test('builds Istio\'s DNS-SRV cluster name with an empty subset', () => {
  assert.equal(sidecarServerName('reviews.default.svc.cluster.local', 9080), 'outbound_.9080_._.reviews.default.svc.cluster.local');
  assert.equal(sidecarServerName('reviews.default.svc.cluster.local', 9080, 'v2'), 'outbound_.9080_.v2_.reviews.default.svc.cluster.local');
});

test('parses what it builds, lower-casing the hostname', () => {
  assert.deepEqual(parseSidecarServerName('outbound_.9080_._.reviews.default.svc.cluster.local'), { servicePort: 9080, subset: '', hostname: 'reviews.default.svc.cluster.local' });
  assert.deepEqual(parseSidecarServerName('outbound_.80_.v2_.Echo.Default.svc.cluster.local'), { servicePort: 80, subset: 'v2', hostname: 'echo.default.svc.cluster.local' });
});

test('rejects names that do not name a port and a host', () => {
  for (const bad of [undefined, null, false as const, '', 'echo.default.svc.cluster.local', 'inbound_.80_._.echo', 'outbound_.0_._.echo', 'outbound_.65536_._.echo', 'outbound_.x_._.echo', 'outbound_.80_._.', 'outbound_.80_.echo', 'outbound_._._.echo']) {
    assert.equal(parseSidecarServerName(bad), undefined, String(bad));
  }
});
