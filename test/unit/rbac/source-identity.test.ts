// authorize: principals and namespaces (exact, prefix, suffix, presence, and their not_ forms).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationMatch } from '../../../src/api/mesh.js';
import { authorize } from '../../../src/dataplane/rbac.js';
import { match, policy } from '../state/snapshot-fixture.js';

const SLEEP = 'spiffe://cluster.local/ns/foo/sa/sleep';

/** Whether an ALLOW policy of this one match lets `identity` in. */
function allows(m: Partial<AuthorizationMatch>, identity: string | undefined = SLEEP): boolean {
  return authorize({
    policies: [policy('default', 'p', 'ALLOW', [match(m)])],
    sourceIdentity: identity,
    sourceIp: '127.1.0.5',
    destinationIp: '127.1.0.9',
    destinationPort: 9080,
  }).allowed;
}

test('principals are compared without the spiffe:// scheme', () => {
  assert.equal(allows({ principals: [{ exact: 'cluster.local/ns/foo/sa/sleep' }] }), true);
  assert.equal(allows({ principals: [{ exact: 'spiffe://cluster.local/ns/foo/sa/sleep' }] }), false);
  assert.equal(allows({ principals: [{ exact: 'cluster.local/ns/foo/sa/other' }] }), false);
});

test('principal prefix, suffix and presence', () => {
  assert.equal(allows({ principals: [{ prefix: 'cluster.local/ns/foo/' }] }), true);
  assert.equal(allows({ principals: [{ prefix: 'cluster.local/ns/bar/' }] }), false);
  assert.equal(allows({ principals: [{ suffix: '/sa/sleep' }] }), true);
  assert.equal(allows({ principals: [{ suffix: '/sa/curl' }] }), false);
  assert.equal(allows({ principals: [{ presence: true }] }), true);
  assert.equal(allows({ principals: [{ exact: 'x' }, { suffix: 'sleep' }] }), true);
});

test('notPrincipals excludes a matching identity', () => {
  assert.equal(allows({ notPrincipals: [{ suffix: '/sa/sleep' }] }), false);
  assert.equal(allows({ notPrincipals: [{ suffix: '/sa/curl' }] }), true);
  assert.equal(allows({ principals: [{ prefix: 'cluster.local/' }], notPrincipals: [{ exact: 'cluster.local/ns/foo/sa/sleep' }] }), false);
});

test('namespaces come from the SPIFFE id of the source', () => {
  assert.equal(allows({ namespaces: [{ exact: 'foo' }] }), true);
  assert.equal(allows({ namespaces: [{ exact: 'bar' }] }), false);
  assert.equal(allows({ namespaces: [{ prefix: 'f' }] }), true);
  assert.equal(allows({ notNamespaces: [{ exact: 'foo' }] }), false);
  assert.equal(allows({ notNamespaces: [{ exact: 'bar' }] }), true);
  assert.equal(allows({ namespaces: [{ exact: 'foo' }] }, 'spiffe://corp.example/ns/foo/sa/x'), true);
});
