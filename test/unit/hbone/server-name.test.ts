// SNI names for workload identities: readable and DNS-safe, hashed when the id cannot be one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hboneServerName } from '../../../src/dataplane/tls/server-name.js';
import { spiffeIdsInSubjectAltName } from '../../../src/dataplane/tls/peer-identity.js';

test('an Istio-shaped id becomes <sa>.<ns>.sa.<trust domain>, lower-cased', () => {
  assert.equal(
    hboneServerName('spiffe://cluster.local/ns/default/sa/bookinfo-ratings'),
    'bookinfo-ratings.default.sa.cluster.local',
  );
  assert.equal(hboneServerName('spiffe://Example.ORG/ns/Prod/sa/API'), 'api.prod.sa.example.org');
});

test('ids that cannot be a DNS name map to a stable hash name', () => {
  const odd = 'spiffe://cluster.local/ns/default/sa/under_score';
  const name = hboneServerName(odd);
  assert.match(name, /^[0-9a-f]{32}\.id\.l4mesh$/);
  assert.equal(hboneServerName(odd), name);
  assert.notEqual(hboneServerName('spiffe://cluster.local/ns/default/sa/other_one'), name);
  assert.match(hboneServerName(`spiffe://cluster.local/ns/default/sa/${'a'.repeat(64)}`), /\.id\.l4mesh$/);
  assert.match(hboneServerName('spiffe://cluster.local/workload/x'), /\.id\.l4mesh$/);
});

test('SPIFFE ids are read from Node subjectaltname text, including quoted values', () => {
  assert.deepEqual(spiffeIdsInSubjectAltName('URI:spiffe://cluster.local/ns/a/sa/b'), ['spiffe://cluster.local/ns/a/sa/b']);
  assert.deepEqual(
    spiffeIdsInSubjectAltName('DNS:x.example, URI:https://not.spiffe/, URI:spiffe://td/ns/a/sa/b'),
    ['spiffe://td/ns/a/sa/b'],
  );
  assert.deepEqual(
    spiffeIdsInSubjectAltName('URI:"spiffe://td/ns/a/sa/b, c", URI:spiffe://td/ns/x/sa/y'),
    ['spiffe://td/ns/a/sa/b, c', 'spiffe://td/ns/x/sa/y'],
  );
  assert.deepEqual(spiffeIdsInSubjectAltName(undefined), []);
});
