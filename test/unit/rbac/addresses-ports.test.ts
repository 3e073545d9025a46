// authorize: source/destination CIDRs (IPv4 and IPv6) and destination ports, with their not_ forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationMatch } from '../../../src/api/mesh.js';
import { authorize } from '../../../src/dataplane/rbac.js';
import { match, policy } from '../state/snapshot-fixture.js';

function allows(m: Partial<AuthorizationMatch>, sourceIp = '127.1.0.5', destinationIp = '127.1.0.9', destinationPort = 9080): boolean {
  return authorize({
    policies: [policy('default', 'p', 'ALLOW', [match(m)])],
    sourceIdentity: 'spiffe://cluster.local/ns/foo/sa/sleep',
    sourceIp,
    destinationIp,
    destinationPort,
  }).allowed;
}

test('IPv4 source CIDRs, including a dual-stack socket spelling of the peer', () => {
  assert.equal(allows({ sourceIps: ['127.1.0.0/24'] }), true);
  assert.equal(allows({ sourceIps: ['127.2.0.0/16'] }), false);
  assert.equal(allows({ sourceIps: ['127.1.0.5'] }), true);
  assert.equal(allows({ sourceIps: ['127.1.0.0/24'] }, '::ffff:127.1.0.77'), true);
  assert.equal(allows({ notSourceIps: ['127.0.0.0/8'] }), false);
  assert.equal(allows({ notSourceIps: ['10.0.0.0/8'] }), true);
});

test('IPv6 source and destination CIDRs', () => {
  assert.equal(allows({ sourceIps: ['fd00:1::/32'] }, 'fd00:1:ffff::5', 'fd00:2::9'), true);
  assert.equal(allows({ sourceIps: ['fd00:1::/32'] }, 'fd00:2::5', 'fd00:2::9'), false);
  assert.equal(allows({ sourceIps: ['fd00:1::/32'] }, '127.1.0.5'), false);
  assert.equal(allows({ destinationIps: ['fd00:2::/64'] }, 'fd00:1::5', 'fd00:2::9'), true);
  assert.equal(allows({ notDestinationIps: ['fd00:2::9/128'] }, 'fd00:1::5', 'fd00:2::9'), false);
});

test('IPv4 destination CIDRs', () => {
  assert.equal(allows({ destinationIps: ['127.1.0.8/31'] }), true);
  assert.equal(allows({ destinationIps: ['127.1.0.10/31'] }), false);
});

test('destination ports and notDestinationPorts', () => {
  assert.equal(allows({ destinationPorts: [80, 9080] }), true);
  assert.equal(allows({ destinationPorts: [80] }), false);
  assert.equal(allows({ notDestinationPorts: [9080] }), false);
  assert.equal(allows({ notDestinationPorts: [80] }), true);
  assert.equal(allows({ destinationPorts: [9080], notSourceIps: ['127.1.0.5/32'] }), false);
});

test('a malformed CIDR matches no address', () => {
  assert.equal(allows({ sourceIps: ['127.1.0.0/99'] }), false);
  assert.equal(allows({ notSourceIps: ['bogus'] }), true);
});
