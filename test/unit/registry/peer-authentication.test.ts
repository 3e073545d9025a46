import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../../src/controlplane/registry/registry.js';
import { emptyMatch } from '../../../src/controlplane/registry/authorization.js';
import type { AuthorizationMatch } from '../../../src/api/mesh.js';
import type { Resource } from '../../../src/api/types.js';
import { FakeInput, pod } from './fake-input.js';

const pa = (name: string, namespace: string, spec: Record<string, unknown>, creationTimestamp = '2026-01-01T00:00:00Z'): Resource => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { name, namespace, creationTimestamp },
  spec,
});
const match = (fields: Partial<AuthorizationMatch>): AuthorizationMatch => ({ ...emptyMatch(), ...fields });
const denyPlaintext = match({ notPrincipals: [{ presence: true }] });

test('mesh-wide STRICT becomes the GLOBAL static strict DENY of plaintext; PERMISSIVE produces nothing', () => {
  const reg = new Registry(new FakeInput([pa('default', 'istio-system', { mtls: { mode: 'STRICT' } }), pa('relaxed', 'legacy', { mtls: { mode: 'PERMISSIVE' } })]));
  assert.deepStrictEqual([...reg.current().authorizations.entries()], [
    [
      'istio-system/istio_converted_static_strict',
      { name: 'istio_converted_static_strict', namespace: 'istio-system', scope: 'GLOBAL', action: 'DENY', rules: [{ clauses: [{ matches: [denyPlaintext] }] }] },
    ],
  ]);
  const sources = (reg.registryz() as { policySources: Array<Record<string, unknown>> }).policySources;
  assert.deepStrictEqual(sources.find((s) => s['name'] === 'relaxed'), {
    kind: 'PeerAuthentication',
    namespace: 'legacy',
    name: 'relaxed',
    skipped: 'mode PERMISSIVE needs no enforcement at L4',
    notes: ['cannot loosen the mesh-wide STRICT policy: plaintext stays refused'],
  });
  reg.close();
});

test('namespace STRICT is NAMESPACE scoped; the oldest namespace policy wins', () => {
  const reg = new Registry(
    new FakeInput([pa('newer', 'shop', { mtls: { mode: 'PERMISSIVE' } }, '2026-02-01T00:00:00Z'), pa('strict', 'shop', { mtls: { mode: 'STRICT' } }, '2026-01-01T00:00:00Z')]),
  );
  assert.deepStrictEqual([...reg.current().authorizations.entries()], [
    [
      'shop/converted_peer_authentication_strict',
      { name: 'converted_peer_authentication_strict', namespace: 'shop', scope: 'NAMESPACE', action: 'DENY', rules: [{ clauses: [{ matches: [denyPlaintext] }] }] },
    ],
  ]);
  reg.close();
});

test('selector policies: STRICT ports under PERMISSIVE, PERMISSIVE ports exempted under STRICT, attached to selected workloads', () => {
  const reg = new Registry(
    new FakeInput([
      pa('db-ports', 'data', { selector: { matchLabels: { app: 'pg' } }, mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { '5432': { mode: 'STRICT' }, '9187': { mode: 'DISABLE' } } }),
      pa('web', 'data', { selector: { matchLabels: { app: 'web' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '8081': { mode: 'PERMISSIVE' } } }),
      pa('nothing', 'data', { selector: { matchLabels: { app: 'x' } }, mtls: { mode: 'PERMISSIVE' } }),
      pod('pg-0', 'data', { ip: '127.10.0.1', labels: { app: 'pg' } }),
      pod('web-0', 'data', { ip: '127.10.0.2', labels: { app: 'web' } }),
    ]),
  );
  const auth = reg.current().authorizations;
  assert.deepStrictEqual([...auth.keys()], ['data/converted_peer_authentication_db-ports', 'data/converted_peer_authentication_web']);
  assert.deepStrictEqual(auth.get('data/converted_peer_authentication_db-ports'), {
    name: 'converted_peer_authentication_db-ports',
    namespace: 'data',
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    rules: [{ clauses: [{ matches: [match({ notPrincipals: [{ presence: true }], destinationPorts: [5432] })] }] }],
  });
  assert.deepStrictEqual(auth.get('data/converted_peer_authentication_web')!.rules, [
    { clauses: [{ matches: [denyPlaintext] }, { matches: [match({ notDestinationPorts: [8081] })] }] },
  ]);
  const ws = reg.current().workloads;
  assert.deepStrictEqual(ws.get('Kubernetes//Pod/data/pg-0')!.authorizationPolicies, ['data/converted_peer_authentication_db-ports']);
  assert.deepStrictEqual(ws.get('Kubernetes//Pod/data/web-0')!.authorizationPolicies, ['data/converted_peer_authentication_web']);
  reg.close();
});
