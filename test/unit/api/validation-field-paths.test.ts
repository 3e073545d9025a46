// validateResource names the exact field that is wrong, with a stable code and message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateResource } from '../../../src/api/manifest.js';
import { InvalidResourceError } from '../../../src/errors/index.js';

interface Case {
  title: string;
  doc: Record<string, unknown>;
  path: string;
  problem: string;
}

const svc = (spec: unknown) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'ratings' }, spec });
const deploy = (container: Record<string, unknown>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'ratings-v1' },
  spec: {
    selector: { matchLabels: { app: 'ratings' } },
    template: { metadata: { labels: { app: 'ratings' } }, spec: { containers: [container] } },
  },
});
const istio = (kind: string, group: string, spec: unknown) => ({ apiVersion: `${group}/v1`, kind, metadata: { name: 'x' }, spec });

const CASES: Case[] = [
  {
    title: 'DestinationRule subset labels must be a map',
    doc: istio('DestinationRule', 'networking.istio.io', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: ['v2'] }] }),
    path: 'spec.subsets[1].labels',
    problem: 'expected map, got array',
  },
  {
    title: 'Service port is required',
    doc: svc({ ports: [{ name: 'http' }] }),
    path: 'spec.ports[0].port',
    problem: 'required field missing',
  },
  {
    title: 'Service port out of range',
    doc: svc({ ports: [{ port: 70000 }] }),
    path: 'spec.ports[0].port',
    problem: 'must be between 1 and 65535, got 70000',
  },
  {
    title: 'container command items must be strings',
    doc: deploy({ name: 'ratings', command: ['node', 9080] }),
    path: 'spec.template.spec.containers[0].command[1]',
    problem: 'expected string, got number',
  },
  {
    title: 'container securityContext.runAsUser must be a non-negative integer',
    doc: deploy({ name: 'ratings', command: ['node'], securityContext: { runAsUser: -1 } }),
    path: 'spec.template.spec.containers[0].securityContext.runAsUser',
    problem: 'must be between 0 and 2147483647, got -1',
  },
  {
    title: 'container securityContext rejects unknown fields',
    doc: deploy({ name: 'ratings', command: ['node'], securityContext: { runAsUserr: 1000 } }),
    path: 'spec.template.spec.containers[0].securityContext.runAsUserr',
    problem: 'unknown field "runAsUserr"',
  },
  {
    title: 'unknown field in a Service spec',
    doc: svc({ ports: [{ port: 9080 }], foo: 1 }),
    path: 'spec.foo',
    problem: 'unknown field "foo"',
  },
  {
    title: 'AuthorizationPolicy action enum',
    doc: istio('AuthorizationPolicy', 'security.istio.io', { action: 'PERMIT' }),
    path: 'spec.action',
    problem: 'must be one of ALLOW, DENY, AUDIT, CUSTOM, got "PERMIT"',
  },
  {
    title: 'AuthorizationPolicy condition key is required',
    doc: istio('AuthorizationPolicy', 'security.istio.io', { rules: [{ when: [{ values: ['a'] }] }] }),
    path: 'spec.rules[0].when[0].key',
    problem: 'required field missing',
  },
  {
    title: 'AuthorizationPolicy misspelled source field',
    doc: istio('AuthorizationPolicy', 'security.istio.io', { rules: [{ from: [{ source: { principal: ['a'] } }] }] }),
    path: 'spec.rules[0].from[0].source.principal',
    problem: 'unknown field "principal"',
  },
  {
    title: 'ServiceEntry hosts are required',
    doc: istio('ServiceEntry', 'networking.istio.io', { resolution: 'DNS' }),
    path: 'spec.hosts',
    problem: 'required field missing',
  },
  {
    title: 'ServiceEntry resolution enum',
    doc: istio('ServiceEntry', 'networking.istio.io', { hosts: ['a.example.com'], resolution: 'DYNAMIC' }),
    path: 'spec.resolution',
    problem: 'must be one of NONE, STATIC, DNS, DNS_ROUND_ROBIN, DYNAMIC_DNS, got "DYNAMIC"',
  },
  {
    title: 'PeerAuthentication mtls mode enum',
    doc: istio('PeerAuthentication', 'security.istio.io', { mtls: { mode: 'STRIKT' } }),
    path: 'spec.mtls.mode',
    problem: 'must be one of UNSET, DISABLE, PERMISSIVE, STRICT, got "STRIKT"',
  },
  {
    title: 'PeerAuthentication portLevelMtls keys are ports',
    doc: istio('PeerAuthentication', 'security.istio.io', { portLevelMtls: { http: { mode: 'DISABLE' } } }),
    path: 'spec.portLevelMtls.http',
    problem: 'port must be a number between 1 and 65535, got "http"',
  },
  {
    title: 'Telemetry reportingInterval is a duration',
    doc: istio('Telemetry', 'telemetry.istio.io', { metrics: [{ reportingInterval: '5 seconds' }] }),
    path: 'spec.metrics[0].reportingInterval',
    problem: 'invalid duration "5 seconds": unexpected "5 seconds" (examples: "15s", "1m30s", "250ms", "1.5s")',
  },
  {
    title: 'Telemetry metric enum',
    doc: istio('Telemetry', 'telemetry.istio.io', { metrics: [{ overrides: [{ match: { metric: 'TCP_BYTES' } }] }] }),
    path: 'spec.metrics[0].overrides[0].match.metric',
    problem:
      'must be one of ALL_METRICS, REQUEST_COUNT, REQUEST_DURATION, REQUEST_SIZE, RESPONSE_SIZE, TCP_OPENED_CONNECTIONS, ' +
      'TCP_CLOSED_CONNECTIONS, TCP_SENT_BYTES, TCP_RECEIVED_BYTES, GRPC_REQUEST_MESSAGES, GRPC_RESPONSE_MESSAGES, got "TCP_BYTES"',
  },
  {
    title: 'VirtualService StringMatch needs exactly one of exact, prefix, regex',
    doc: istio('VirtualService', 'networking.istio.io', { http: [{ match: [{ uri: { exact: '/a', prefix: '/' } }] }] }),
    path: 'spec.http[0].match[0].uri',
    problem: 'exactly one of exact, prefix, regex must be set, got exact, prefix',
  },
  {
    title: 'VirtualService destination host is required',
    doc: istio('VirtualService', 'networking.istio.io', { http: [{ route: [{ destination: { subset: 'v1' } }] }] }),
    path: 'spec.http[0].route[0].destination.host',
    problem: 'required field missing',
  },
  {
    title: 'DestinationRule duplicate subset names',
    doc: istio('DestinationRule', 'networking.istio.io', { host: 'reviews', subsets: [{ name: 'v1' }, { name: 'v2' }, { name: 'v1' }] }),
    path: 'spec.subsets[2].name',
    problem: 'duplicate subset name "v1" (also at spec.subsets[0].name)',
  },
  {
    title: 'DestinationRule tls mode enum',
    doc: istio('DestinationRule', 'networking.istio.io', { host: 'reviews', trafficPolicy: { tls: { mode: 'MTLS' } } }),
    path: 'spec.trafficPolicy.tls.mode',
    problem: 'must be one of DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL, got "MTLS"',
  },
  {
    title: 'label values must be strings',
    doc: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', labels: { version: 1 } } },
    path: 'metadata.labels.version',
    problem: 'expected string, got number',
  },
  {
    title: 'label keys with a prefix are quoted in the path',
    doc: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', labels: { 'app.kubernetes.io/name': 'has space' } } },
    path: 'metadata.labels["app.kubernetes.io/name"]',
    problem: 'label value must be at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, got "has space"',
  },
  {
    title: 'names are RFC 1123',
    doc: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'Ratings_SA' } },
    path: 'metadata.name',
    problem:
      'must be an RFC 1123 subdomain (lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters), got "Ratings_SA"',
  },
  {
    title: 'metadata.name is required',
    doc: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { labels: {} } },
    path: 'metadata.name',
    problem: 'required field missing',
  },
  {
    title: 'unknown top-level field',
    doc: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa' }, data: {} },
    path: 'data',
    problem: 'unknown field "data"',
  },
  {
    title: 'env values are strings',
    doc: deploy({ name: 'ratings', env: [{ name: 'PORT', value: 9080 }] }),
    path: 'spec.template.spec.containers[0].env[0].value',
    problem: 'expected string, got number',
  },
  {
    title: 'a ServiceAccount has no spec',
    doc: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa' }, spec: {} },
    path: 'spec',
    problem: 'unknown field "spec"',
  },
];

for (const c of CASES) {
  test(`field path: ${c.title}`, () => {
    const kind = c.doc['kind'] as string;
    const name = ((c.doc['metadata'] as Record<string, unknown>)['name'] as string | undefined) ?? '';
    assert.throws(
      () => validateResource(c.doc, 3),
      (err: unknown) => {
        assert.ok(err instanceof InvalidResourceError, `expected InvalidResourceError, got ${String(err)}`);
        assert.equal(err.code, 'L4MESH_ERR_INVALID_RESOURCE');
        assert.equal(err.path, c.path);
        assert.equal(err.documentIndex, 3);
        assert.equal(err.kind, kind);
        assert.equal(err.message, `document 3: ${kind}/${name || '<unnamed>'}: ${c.path}: ${c.problem}`);
        return true;
      },
    );
  });
}

test('a missing kind is reported at path "kind"', () => {
  assert.throws(() => validateResource({ apiVersion: 'v1', metadata: { name: 'x' } }, 1), {
    code: 'L4MESH_ERR_INVALID_RESOURCE',
    path: 'kind',
    message: 'document 1: /x: kind: required field missing',
  });
});

test('a document that is not a mapping is refused', () => {
  assert.throws(() => validateResource(['a'], 4), {
    code: 'L4MESH_ERR_INVALID_RESOURCE',
    message: 'document 4: expected a mapping with apiVersion, kind and metadata, got array',
  });
});

test('a clean copy shares nothing with the input', () => {
  const input = istio('VirtualService', 'networking.istio.io', { hosts: ['ratings'], http: [{ headers: { request: { set: { a: 'b' } } } }] });
  const out = validateResource(input, 1);
  const headers = (out.spec as { http: Array<{ headers: { request: { set: Record<string, string> } } }> }).http[0]!.headers;
  headers.request.set['a'] = 'changed';
  assert.equal(((input.spec as { http: Array<{ headers: { request: { set: Record<string, string> } } }> }).http[0]!.headers.request.set)['a'], 'b');
});
