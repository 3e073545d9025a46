// authorize: Istio's order of DENY and ALLOW policies, and the exact policy/reason of each decision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshAuthorization } from '../../../src/api/mesh.js';
import { authorize, REASON_NO_ALLOW_MATCHED, REASON_NO_ALLOW_POLICIES } from '../../../src/dataplane/rbac.js';
import { match, policy } from '../state/snapshot-fixture.js';

const SLEEP = 'spiffe://cluster.local/ns/foo/sa/sleep';

function decide(policies: MeshAuthorization[], sourceIdentity: string | undefined = SLEEP) {
  return authorize({ policies, sourceIdentity, sourceIp: '127.1.0.5', destinationIp: '127.1.0.9', destinationPort: 9080 });
}

test('no policies: allowed, no deciding policy', () => {
  assert.deepEqual(decide([]), { allowed: true, reason: 'no ALLOW policies apply' });
  assert.equal(REASON_NO_ALLOW_POLICIES, 'no ALLOW policies apply');
});

test('a matching DENY wins over a matching ALLOW, whatever the order', () => {
  const allow = policy('default', 'allow-foo', 'ALLOW', [match({ namespaces: [{ exact: 'foo' }] })]);
  const deny = policy('default', 'deny-sleep', 'DENY', [match({ principals: [{ exact: 'cluster.local/ns/foo/sa/sleep' }] })]);
  const expected = { allowed: false, policy: 'default/deny-sleep', rule: 0, reason: 'matched DENY policy default/deny-sleep' };
  assert.deepEqual(decide([allow, deny]), expected);
  assert.deepEqual(decide([deny, allow]), expected);
});

test('a DENY that does not match and no ALLOW policies: allowed', () => {
  const deny = policy('default', 'deny-bar', 'DENY', [match({ namespaces: [{ exact: 'bar' }] })]);
  assert.deepEqual(decide([deny]), { allowed: true, reason: 'no ALLOW policies apply' });
});

test('ALLOW policies that do not match: denied with the fixed reason and no policy', () => {
  const allow = policy('default', 'allow-bar', 'ALLOW', [match({ namespaces: [{ exact: 'bar' }] })]);
  assert.deepEqual(decide([allow]), { allowed: false, reason: 'allow policies exist but none matched' });
  assert.equal(REASON_NO_ALLOW_MATCHED, 'allow policies exist but none matched');
});

test('the first matching ALLOW policy is reported', () => {
  const none = policy('default', 'a-none', 'ALLOW', [match({ namespaces: [{ exact: 'bar' }] })]);
  const foo = policy('default', 'b-foo', 'ALLOW', [match({ namespaces: [{ exact: 'foo' }] })]);
  const port = policy('default', 'c-port', 'ALLOW', [match({ destinationPorts: [9080] })]);
  assert.deepEqual(decide([none, foo, port]), { allowed: true, policy: 'default/b-foo', rule: 0, reason: 'matched ALLOW policy default/b-foo' });
});

test('the decision names the rule that matched (spec.rules index), the first of several', () => {
  const twoRules: MeshAuthorization = {
    name: 'deny-two', namespace: 'default', scope: 'NAMESPACE', action: 'DENY',
    rules: [{ clauses: [{ matches: [match({ namespaces: [{ exact: 'bar' }] })] }] }, { clauses: [{ matches: [match({ namespaces: [{ exact: 'foo' }] })] }] }, { clauses: [] }],
  };
  assert.deepEqual(decide([twoRules]), { allowed: false, policy: 'default/deny-two', rule: 1, reason: 'matched DENY policy default/deny-two' });
});

test('a policy with no rules matches nothing; a rule with no clauses matches everything', () => {
  const noRules: MeshAuthorization = { name: 'deny-none', namespace: 'default', scope: 'NAMESPACE', action: 'DENY', rules: [] };
  assert.deepEqual(decide([noRules]), { allowed: true, reason: 'no ALLOW policies apply' });
  const allowNothing: MeshAuthorization = { ...noRules, name: 'allow-nothing', action: 'ALLOW' };
  assert.deepEqual(decide([allowNothing]), { allowed: false, reason: 'allow policies exist but none matched' });
  const denyAll: MeshAuthorization = { ...noRules, name: 'deny-all', rules: [{ clauses: [] }] };
  assert.deepEqual(decide([denyAll]), { allowed: false, policy: 'default/deny-all', rule: 0, reason: 'matched DENY policy default/deny-all' });
});

test('a clause of only empty matches matches nothing (an empty `from` entry)', () => {
  const allow = policy('default', 'empty-from', 'ALLOW', [match()]);
  assert.deepEqual(decide([allow]), { allowed: false, reason: 'allow policies exist but none matched' });
});

test('rules are ORed, clauses ANDed, matches within a clause ORed', () => {
  const mk = (clauses: MeshAuthorization['rules'][number]['clauses']): MeshAuthorization => ({
    name: 'p', namespace: 'default', scope: 'NAMESPACE', action: 'ALLOW', rules: [{ clauses }],
  });
  const fromFoo = { matches: [match({ namespaces: [{ exact: 'bar' }] }), match({ namespaces: [{ exact: 'foo' }] })] };
  const toPort = { matches: [match({ destinationPorts: [9080] })] };
  const toOtherPort = { matches: [match({ destinationPorts: [80] })] };
  assert.equal(decide([mk([fromFoo, toPort])]).allowed, true);
  assert.equal(decide([mk([fromFoo, toOtherPort])]).allowed, false);
  const twoRules: MeshAuthorization = { ...mk([toOtherPort]), rules: [{ clauses: [toOtherPort] }, { clauses: [fromFoo] }] };
  assert.equal(decide([twoRules]).allowed, true);
});
