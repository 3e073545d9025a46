// Realistic Istio and Kubernetes documents that must be accepted, with their exact clean copies:
// AuthorizationPolicy rules, ServiceEntry endpoints, VirtualService matches, ServiceAccount fields,
// and YAML nulls (`labels:` with nothing after it) treated as absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifests } from '../../../src/api/manifest.js';

test('an AuthorizationPolicy with from, to and when keeps every field as written', () => {
  const [r] = parseManifests(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ratings-viewer
  namespace: bookinfo
spec:
  selector:
    matchLabels:
      app: ratings
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/bookinfo/sa/bookinfo-reviews"]
        notNamespaces: ["legacy"]
        ipBlocks: ["127.0.0.0/8"]
    to:
    - operation:
        ports: ["9080"]
        methods: ["GET"]
    when:
    - key: source.namespace
      values: ["bookinfo"]
`);
  assert.deepEqual(r, {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'ratings-viewer', namespace: 'bookinfo' },
    spec: {
      selector: { matchLabels: { app: 'ratings' } },
      action: 'ALLOW',
      rules: [
        {
          from: [
            { source: { principals: ['cluster.local/ns/bookinfo/sa/bookinfo-reviews'], notNamespaces: ['legacy'], ipBlocks: ['127.0.0.0/8'] } },
          ],
          to: [{ operation: { ports: ['9080'], methods: ['GET'] } }],
          when: [{ key: 'source.namespace', values: ['bookinfo'] }],
        },
      ],
    },
  });
});

test('an empty AuthorizationPolicy spec (allow-nothing) is accepted as {}', () => {
  const [r] = parseManifests('apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: allow-nothing\nspec: {}\n');
  assert.deepEqual(r!.spec, {});
});

test('a ServiceEntry with static endpoints', () => {
  const [r] = parseManifests(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: external-db
spec:
  hosts: ["db.example.internal"]
  addresses: ["10.8.0.10"]
  ports:
  - number: 5432
    name: tcp-postgres
    protocol: TCP
    targetPort: 15432
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints:
  - address: 127.0.20.1
    labels:
      app: db
    ports:
      tcp-postgres: 15432
`);
  assert.deepEqual(r!.spec, {
    hosts: ['db.example.internal'],
    addresses: ['10.8.0.10'],
    ports: [{ number: 5432, name: 'tcp-postgres', protocol: 'TCP', targetPort: 15432 }],
    location: 'MESH_INTERNAL',
    resolution: 'STATIC',
    endpoints: [{ address: '127.0.20.1', labels: { app: 'db' }, ports: { 'tcp-postgres': 15432 } }],
  });
});

test('a VirtualService with header matches, rewrite, timeout and free-form retries', () => {
  const [r] = parseManifests(`
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - name: jason
    match:
    - headers:
        end-user:
          exact: jason
      uri:
        prefix: /reviews
    rewrite:
      uri: /
    timeout: 1.5s
    retries:
      attempts: 3
      perTryTimeout: 500ms
    route:
    - destination:
        host: reviews
        subset: v2
`);
  assert.deepEqual(r!.spec, {
    hosts: ['reviews'],
    http: [
      {
        name: 'jason',
        match: [{ headers: { 'end-user': { exact: 'jason' } }, uri: { prefix: '/reviews' } }],
        rewrite: { uri: '/' },
        timeout: '1.5s',
        retries: { attempts: 3, perTryTimeout: '500ms' },
        route: [{ destination: { host: 'reviews', subset: 'v2' } }],
      },
    ],
  });
});

test('ServiceAccount top-level fields are kept; YAML nulls are treated as absent', () => {
  const [sa, svc] = parseManifests(`
apiVersion: v1
kind: ServiceAccount
metadata:
  name: bookinfo-details
  labels:
  annotations:
automountServiceAccountToken: false
imagePullSecrets:
- name: registry
---
apiVersion: v1
kind: Service
metadata:
  name: details
spec:
  selector:
  ports:
  - port: 9080
    targetPort: http
`);
  assert.deepEqual(sa, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'bookinfo-details', namespace: 'default' },
    automountServiceAccountToken: false,
    imagePullSecrets: [{ name: 'registry' }],
  });
  assert.deepEqual(svc!.spec, { ports: [{ port: 9080, targetPort: 'http' }] });
});

test('a Telemetry with tag overrides and a mesh-wide reporting interval', () => {
  const [r] = parseManifests(`
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: tcp-tags
  namespace: istio-system
spec:
  metrics:
  - reportingInterval: 100ms
    overrides:
    - match:
        metric: ALL_METRICS
        mode: CLIENT_AND_SERVER
      tagOverrides:
        request_protocol:
          operation: REMOVE
        source_app:
          value: "'fixed'"
`);
  assert.deepEqual(r!.spec, {
    metrics: [
      {
        reportingInterval: '100ms',
        overrides: [
          {
            match: { metric: 'ALL_METRICS', mode: 'CLIENT_AND_SERVER' },
            tagOverrides: { request_protocol: { operation: 'REMOVE' }, source_app: { value: "'fixed'" } },
          },
        ],
      },
    ],
  });
});
