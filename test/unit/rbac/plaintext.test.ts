// authorize: connections without a peer identity (plaintext), under no policy and under STRICT mTLS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationMatch } from '../../../src/api/mesh.js';
import { authorize } from '../../../src/dataplane/rbac.js';
import { match, policy } from '../state/snapshot-fixture.js';

// PeerAuthentication STRICT as the control plane converts it: DENY whatever has no principal.
const strict = policy('istio-system', 'istio_converted_static_strict', 'DENY', [match({ notPrincipals: [{ presence: true }] })], 'GLOBAL');

function request(sourceIdentity: string | undefined, policies = [strict]) {
  return { policies, sourceIdentity, sourceIp: '127.1.0.5', destinationIp: '127.1.0.9', destinationPort: 9080 };
}

test('plaintext is allowed when no policy applies', () => {
  assert.deepEqual(authorize(request(undefined, [])), { allowed: true, reason: 'no ALLOW policies apply' });
});

test('plaintext is denied by the STRICT-converted policy, mTLS is not', () => {
  assert.deepEqual(authorize(request(undefined)), {
    allowed: false,
    policy: 'istio-system/istio_converted_static_strict',
    rule: 0,
    reason: 'matched DENY policy istio-system/istio_converted_static_strict',
  });
  assert.deepEqual(authorize(request('spiffe://cluster.local/ns/foo/sa/sleep')), { allowed: true, reason: 'no ALLOW policies apply' });
});

test("plaintext never satisfies a principal condition, even prefix '', nor a namespace presence", () => {
  const allow = (m: Partial<AuthorizationMatch>) => authorize(request(undefined, [policy('default', 'p', 'ALLOW', [match(m)])])).allowed;
  assert.equal(allow({ principals: [{ presence: true }] }), false);
  assert.equal(allow({ principals: [{ prefix: '' }] }), false);
  assert.equal(allow({ principals: [{ exact: '' }] }), false);
  assert.equal(allow({ notPrincipals: [{ prefix: '' }] }), true);
  assert.equal(allow({ namespaces: [{ presence: true }] }), false);
  assert.equal(allow({ namespaces: [{ exact: 'foo' }] }), false);
  assert.equal(allow({ notNamespaces: [{ exact: 'foo' }] }), true);
  assert.equal(allow({ sourceIps: ['127.1.0.0/24'] }), true);
});
