// parseManifests on a realistic multi-document file: bookinfo-style Service, ServiceAccount and
// Deployment plus Istio kinds, empty documents skipped, a List expanded, and the exact clean output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifests } from '../../../src/api/manifest.js';

const BOOKINFO_RATINGS = `
# Ratings service
apiVersion: v1
kind: Service
metadata:
  name: ratings
  labels:
    app: ratings
    service: ratings
spec:
  ports:
  - port: 9080
    name: http
  selector:
    app: ratings
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: bookinfo-ratings
  labels:
    account: ratings
---
---
# only a comment in this one
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ratings-v1
  namespace: bookinfo
  labels:
    app: ratings
    version: v1
spec:
  replicas: 1
  selector:
    matchLabels:
      app: ratings
      version: v1
  template:
    metadata:
      annotations:
        prometheus.io/scrape: "true"
      labels:
        app: ratings
        version: v1
    spec:
      serviceAccountName: bookinfo-ratings
      containers:
      - name: ratings
        image: docker.io/istio/examples-bookinfo-ratings-v1:1.20.1
        imagePullPolicy: IfNotPresent
        command: ["node", "ratings.js", "9080"]
        env:
        - name: LOG_DIR
          value: "/tmp/logs"
        ports:
        - containerPort: 9080
        volumeMounts:
        - name: tmp
          mountPath: /tmp
      volumes:
      - name: tmp
        emptyDir: {}
---
`;

test('bookinfo-style Service, ServiceAccount and Deployment parse to exact clean resources', () => {
  const resources = parseManifests(BOOKINFO_RATINGS);
  assert.deepEqual(resources, [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ratings', namespace: 'default', labels: { app: 'ratings', service: 'ratings' } },
      spec: { ports: [{ port: 9080, name: 'http' }], selector: { app: 'ratings' } },
    },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'bookinfo-ratings', namespace: 'default', labels: { account: 'ratings' } },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'ratings-v1', namespace: 'bookinfo', labels: { app: 'ratings', version: 'v1' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'ratings', version: 'v1' } },
        template: {
          metadata: { annotations: { 'prometheus.io/scrape': 'true' }, labels: { app: 'ratings', version: 'v1' } },
          spec: {
            serviceAccountName: 'bookinfo-ratings',
            containers: [
              {
                name: 'ratings',
                image: 'docker.io/istio/examples-bookinfo-ratings-v1:1.20.1',
                imagePullPolicy: 'IfNotPresent',
                command: ['node', 'ratings.js', '9080'],
                env: [{ name: 'LOG_DIR', value: '/tmp/logs' }],
                ports: [{ containerPort: 9080 }],
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: {} }],
          },
        },
      },
    },
  ]);
});

test('Istio kinds: older apiVersions are stored as v1, server-set metadata and status are dropped', () => {
  const text = `
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: reviews
  resourceVersion: "42"
  uid: 0b6f2c1e-aaaa-bbbb-cccc-000000000001
  creationTimestamp: "2024-05-01T10:00:00Z"
  generation: 3
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
status:
  validationMessages: []
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: STRICT
  portLevelMtls:
    9080:
      mode: PERMISSIVE
---
apiVersion: telemetry.istio.io/v1alpha1
kind: Telemetry
metadata:
  name: mesh-default
  namespace: istio-system
spec:
  metrics:
  - providers:
    - name: prometheus
    reportingInterval: 5s
    overrides:
    - match:
        metric: TCP_OPENED_CONNECTIONS
        mode: CLIENT
      disabled: true
`;
  assert.deepEqual(parseManifests(text), [
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'reviews', namespace: 'default' },
      spec: {
        host: 'reviews',
        trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } },
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      },
    },
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: { name: 'default', namespace: 'istio-system' },
      spec: { mtls: { mode: 'STRICT' }, portLevelMtls: { '9080': { mode: 'PERMISSIVE' } } },
    },
    {
      apiVersion: 'telemetry.istio.io/v1',
      kind: 'Telemetry',
      metadata: { name: 'mesh-default', namespace: 'istio-system' },
      spec: {
        metrics: [
          {
            providers: [{ name: 'prometheus' }],
            reportingInterval: '5s',
            overrides: [{ match: { metric: 'TCP_OPENED_CONNECTIONS', mode: 'CLIENT' }, disabled: true }],
          },
        ],
      },
    },
  ]);
});

test('a kind: List expands into its items, and a Namespace loses any namespace it was given', () => {
  const text = `
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata:
    name: bookinfo
    namespace: ignored
- apiVersion: networking.istio.io/v1
  kind: WorkloadEntry
  metadata:
    name: vm-1
    namespace: bookinfo
  spec:
    address: 10.0.0.7
    ports:
      http: 9080
    labels:
      app: details
    serviceAccount: bookinfo-details
`;
  assert.deepEqual(parseManifests(text), [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bookinfo' } },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'WorkloadEntry',
      metadata: { name: 'vm-1', namespace: 'bookinfo' },
      spec: { address: '10.0.0.7', ports: { http: 9080 }, labels: { app: 'details' }, serviceAccount: 'bookinfo-details' },
    },
  ]);
});

test('an empty text, or one with only separators and comments, gives no resources', () => {
  assert.deepEqual(parseManifests(''), []);
  assert.deepEqual(parseManifests('---\n---\n# nothing here\n---\n'), []);
});

test('one bad document among good ones fails the whole parse, naming that document', () => {
  const text = `
apiVersion: v1
kind: ServiceAccount
metadata:
  name: good
---
apiVersion: v1
kind: Service
metadata:
  name: bad
spec:
  ports:
  - port: "http"
`;
  assert.throws(() => parseManifests(text), {
    code: 'L4MESH_ERR_INVALID_RESOURCE',
    documentIndex: 2,
    path: 'spec.ports[0].port',
    message: 'document 2: Service/bad: spec.ports[0].port: expected integer, got string',
  });
});

test('a Pod keeps its status; a Service drops its status', () => {
  const text = `
apiVersion: v1
kind: Pod
metadata:
  name: ratings-v1-0
  ownerReferences:
  - apiVersion: apps/v1
    kind: Deployment
    name: ratings-v1
spec:
  nodeName: node-1
  containers:
  - name: ratings
status:
  phase: Running
  podIP: 127.0.10.2
  podIPs:
  - ip: 127.0.10.2
---
apiVersion: v1
kind: Service
metadata:
  name: ratings
spec:
  ports:
  - port: 9080
status:
  loadBalancer: {}
`;
  assert.deepEqual(parseManifests(text), [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'ratings-v1-0',
        namespace: 'default',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'ratings-v1' }],
      },
      spec: { nodeName: 'node-1', containers: [{ name: 'ratings' }] },
      status: { phase: 'Running', podIP: '127.0.10.2', podIPs: [{ ip: '127.0.10.2' }] },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ratings', namespace: 'default' }, spec: { ports: [{ port: 9080 }] } },
  ]);
});
