// Unknown kinds and apiVersions that do not serve a known kind are refused with L4MESH_ERR_UNKNOWN_KIND.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifests, validateResource } from '../../../src/api/manifest.js';

const KNOWN =
  'Service, ServiceAccount, Namespace, Pod, Deployment, WorkloadEntry, ServiceEntry, VirtualService, ' +
  'DestinationRule, PeerAuthentication, AuthorizationPolicy, Telemetry';

test('an unknown kind is named with its apiVersion and the list of known kinds', () => {
  const text = 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\n';
  assert.throws(() => parseManifests(text), {
    code: 'L4MESH_ERR_UNKNOWN_KIND',
    message: `document 2: unknown kind "Gateway" (apiVersion networking.istio.io/v1); known kinds: ${KNOWN}`,
  });
});

test('a known kind at the wrong group is refused naming the accepted apiVersions', () => {
  assert.throws(() => validateResource({ apiVersion: 'v1', kind: 'VirtualService', metadata: { name: 'r' } }, 1), {
    code: 'L4MESH_ERR_UNKNOWN_KIND',
    message:
      'document 1: kind "VirtualService" is not served at apiVersion "v1"; accepted apiVersions: ' +
      'networking.istio.io/v1, networking.istio.io/v1beta1, networking.istio.io/v1alpha3',
  });
});

test('a known kind at an unknown version is refused', () => {
  assert.throws(() => validateResource({ apiVersion: 'apps/v1beta2', kind: 'Deployment', metadata: { name: 'd' } }, 2), {
    code: 'L4MESH_ERR_UNKNOWN_KIND',
    message: 'document 2: kind "Deployment" is not served at apiVersion "apps/v1beta2"; accepted apiVersions: apps/v1',
  });
});

test('every accepted spelling of a group is stored as group/v1', () => {
  const cases: Array<[string, string, string, unknown]> = [
    ['networking.istio.io/v1beta1', 'WorkloadEntry', 'networking.istio.io/v1', { address: '10.0.0.1' }],
    ['networking.istio.io/v1alpha3', 'ServiceEntry', 'networking.istio.io/v1', { hosts: ['a.example.com'] }],
    ['security.istio.io/v1beta1', 'AuthorizationPolicy', 'security.istio.io/v1', {}],
    ['telemetry.istio.io/v1alpha1', 'Telemetry', 'telemetry.istio.io/v1', {}],
  ];
  for (const [apiVersion, kind, stored, spec] of cases) {
    const r = validateResource({ apiVersion, kind, metadata: { name: 'x' }, spec }, 1);
    assert.equal(r.apiVersion, stored, `${kind} ${apiVersion}`);
  }
});
