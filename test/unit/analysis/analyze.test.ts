// Each analyzer on a small mesh that has exactly one mistake of each kind, and the same mesh fixed:
// the findings are compared whole (code, resource, field), so a missed or an extra finding fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../../src/analysis/analyze.js';
import type { Resource } from '../../../src/api/types.js';
import { parseAllDocuments } from 'yaml';
import { waypointManifest } from '../../../src/cli/waypoint.js';

function r(kind: string, name: string, spec: Record<string, unknown>, extra: Partial<Resource['metadata']> = {}, namespace = 'default'): Resource {
  const apiVersion = { Service: 'v1', Pod: 'v1', Namespace: 'v1', Deployment: 'apps/v1' }[kind] ?? 'networking.istio.io/v1';
  return { apiVersion, kind, metadata: { name, ...(kind === 'Namespace' ? {} : { namespace }), ...extra }, spec };
}

function deployment(name: string, labels: Record<string, string>, namespace = 'default', serviceAccountName?: string): Resource {
  return r('Deployment', name, { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { serviceAccountName, containers: [{ name: 'c', command: ['true'] }] } } }, {}, namespace);
}

/** Reviews v1 and ratings v1 run; everything else is configuration about them. */
function healthyMesh(): Resource[] {
  return [
    r('Service', 'reviews', { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] }),
    r('Service', 'ratings', { selector: { app: 'ratings' }, ports: [{ name: 'tcp-api', port: 9080 }] }),
    deployment('reviews-v1', { app: 'reviews', version: 'v1' }),
    deployment('ratings-v1', { app: 'ratings', version: 'v1' }),
    r('DestinationRule', 'reviews', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] }),
    r('VirtualService', 'reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] }),
    r('AuthorizationPolicy', 'ratings', { selector: { matchLabels: { app: 'ratings' } }, action: 'ALLOW', rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/reviews'] } }] }] }, {}),
    r('PeerAuthentication', 'default', { mtls: { mode: 'STRICT' } }),
    r('Telemetry', 'tags', { metrics: [{ providers: [{ name: 'prometheus' }], overrides: [{ match: { metric: 'TCP_SENT_BYTES' }, tagOverrides: { source_principal: { operation: 'REMOVE' } } }] }] }),
  ];
}

test('a healthy mesh has no findings', () => {
  assert.deepEqual(analyze(healthyMesh()), []);
});

test('the waypoint "l4mesh waypoint apply" deploys draws no finding (its port carries HBONE, no application protocol)', () => {
  const waypoint = parseAllDocuments(waypointManifest({ namespace: 'default', name: 'waypoint', stateDir: '/tmp/l4mesh-state' })).map((d) => d.toJSON() as Resource);
  assert.deepEqual(waypoint.map((x) => x.kind), ['ServiceAccount', 'Service', 'Deployment', 'Namespace']);
  assert.deepEqual(analyze([...healthyMesh(), ...waypoint]), []);
});

test('each mistake is one finding with its code, resource and field', () => {
  const resources = [
    ...healthyMesh().filter((x) => !(x.kind === 'VirtualService' || x.kind === 'Telemetry' || x.kind === 'AuthorizationPolicy')),
    // A route to a subset whose DestinationRule lost it (apply checks this; a later DR edit does not).
    r('VirtualService', 'reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v3' } }, { destination: { host: 'reviewz' } }] }] }),
    r('DestinationRule', 'ratings', { host: 'ratings', subsets: [{ name: 'v2', labels: { version: 'v2' } }] }),
    r('VirtualService', 'ratings', { hosts: ['ratings'], http: [{ route: [{ destination: { host: 'ratings' } }] }] }),
    r('Service', 'orphan', { selector: { app: 'nobody' }, ports: [{ name: 'web', port: 80 }] }),
    r('Service', 'manual', { ports: [{ name: 'tcp', port: 5432 }] }),
    r('AuthorizationPolicy', 'typo', { selector: { matchLabels: { app: 'ratngs' } }, action: 'ALLOW', rules: [{}] }),
    r('AuthorizationPolicy', 'get-only', { selector: { matchLabels: { app: 'ratings' } }, action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }),
    r('AuthorizationPolicy', 'at-waypoint', { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }], action: 'ALLOW', rules: [{}] }),
    deployment('curl', { app: 'curl', 'istio.io/dataplane-mode': 'none' }, 'tools'),
    r('Namespace', 'shop', {}, { labels: { 'istio.io/use-waypoint': 'waypoint' } }),
    r('Telemetry', 'tags', { metrics: [{ overrides: [{ match: { metric: 'TCP_SENT_BYTES' }, tagOverrides: { source_worklaod: { operation: 'REMOVE' }, team: { value: 'payments' } } }] }] }),
  ];
  const found = analyze(resources, {}).map((f) => [f.level, f.code, `${f.resource.kind} ${f.resource.namespace}/${f.resource.name}`, f.field ?? '']);
  assert.deepEqual(found, [
    ['Error', 'IST0101', 'AuthorizationPolicy default/at-waypoint', 'spec.targetRefs[0]'],
    ['Error', 'IST0101', 'Namespace /shop', 'metadata.labels'],
    ['Error', 'IST0101', 'VirtualService default/reviews', 'spec.http[0].route[0].destination.subset'],
    ['Error', 'IST0101', 'VirtualService default/reviews', 'spec.http[0].route[1].destination.host'],
    ['Warning', 'IST0127', 'AuthorizationPolicy default/typo', 'spec.selector.matchLabels'],
    ['Warning', 'IST0127', 'Service default/orphan', 'spec.selector'],
    ['Warning', 'IST0173', 'DestinationRule default/ratings', 'spec.subsets[0].labels'],
    ['Warning', 'L4M0001', 'AuthorizationPolicy default/get-only', 'spec.rules[0]'],
    ['Warning', 'L4M0003', 'PeerAuthentication default/default', 'spec.mtls.mode'],
    ['Warning', 'L4M0004', 'Service default/manual', 'spec.selector'],
    ['Warning', 'L4M0005', 'Telemetry default/tags', 'spec.metrics[0].overrides[0].tagOverrides.source_worklaod'],
    ['Warning', 'L4M0007', 'VirtualService default/ratings', 'spec.http'],
    ['Info', 'IST0118', 'Service default/orphan', 'spec.ports[0].name'],
    ['Info', 'L4M0006', 'Telemetry default/tags', 'spec.metrics[0].overrides[0].tagOverrides.team'],
  ]);
});

test('messages name what is wrong and the fix names what to do', () => {
  const findings = analyze([
    r('Service', 'reviews', { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] }),
    deployment('reviews-v1', { app: 'reviews', version: 'v1' }),
    r('DestinationRule', 'reviews', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] }),
    r('VirtualService', 'reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v3' } }] }] }),
    r('Telemetry', 't', { metrics: [{ overrides: [{ tagOverrides: { source_worklaod: { operation: 'REMOVE' } } }] }] }),
  ]);
  assert.deepEqual(
    findings.map((f) => [f.code, f.message, f.fix]),
    [
      [
        'IST0101',
        'Referenced host+subset in destinationrule not found: "reviews.default.svc.cluster.local+v3"',
        'add subset v3 to the DestinationRule for reviews.default.svc.cluster.local (it defines v1, v2), or route to one of those',
      ],
      [
        'IST0173',
        'Subset "v2" selects no pod of service reviews.default.svc.cluster.local: no workload in namespace default has the labels app=reviews,version=v2',
        'deploy a workload with those labels, or correct spec.subsets[1].labels (traffic routed to this subset fails)',
      ],
      [
        'L4M0005',
        'REMOVE of tag "source_worklaod" does nothing: ALL_METRICS series carry no such label, did you mean source_workload?',
        'use one of the metric\'s labels (reporter, source_workload, source_canonical_service, source_canonical_revision …; "l4mesh ztunnel-config" and /metrics show them all)',
      ],
    ],
  );
});

test('-n shows the findings of one namespace, with the whole mesh as context', () => {
  const resources = [
    deployment('curl', { app: 'curl', 'istio.io/dataplane-mode': 'none' }, 'tools'),
    r('PeerAuthentication', 'strict', { mtls: { mode: 'STRICT' } }, {}, 'shop'),
    r('Service', 'empty', { selector: { app: 'none' }, ports: [{ name: 'tcp', port: 1 }] }, {}, 'tools'),
  ];
  assert.deepEqual(analyze(resources, { namespaces: ['shop'] }).map((f) => [f.code, f.resource.name, f.message]), [
    ['L4M0003', 'strict', 'STRICT mTLS on namespace shop refuses plaintext, and 1 workload is outside the mesh (istio.io/dataplane-mode=none): tools/deploy/curl; their connections here are refused'],
  ]);
  assert.deepEqual(analyze(resources, { namespaces: ['tools'] }).map((f) => [f.code, f.resource.name]), [['IST0127', 'empty']]);
});

test('a Deployment scaled to zero serves nobody; its running pods are not counted twice', () => {
  const svc = r('Service', 'reviews', { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] });
  const scaled = { ...deployment('reviews-v1', { app: 'reviews' }), spec: { replicas: 0, template: { metadata: { labels: { app: 'reviews' } } } } };
  assert.deepEqual(analyze([svc, scaled]).map((f) => f.code), ['IST0127']);
  const pod: Resource = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'reviews-v1-0', namespace: 'default', labels: { app: 'reviews' } }, spec: {} };
  assert.deepEqual(analyze([svc, pod]), []);
});
