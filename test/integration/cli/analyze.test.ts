// `l4mesh analyze` against a running control plane: the findings of stored configuration as a table
// and as JSON, istioctl's exit code 79 at the failure threshold, and a namespace with nothing to report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reviewsDestinationRule, reviewsVirtualService, withCliMesh } from './cli-fixture.js';

const REVIEWS = `apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1}
spec:
  selector: {matchLabels: {app: reviews, version: v1}}
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec:
      containers: [{name: reviews, image: local/reviews, command: [sleep, "600"]}]
---
${reviewsDestinationRule(['v1', 'v2'])}---
${reviewsVirtualService('v1')}`;

/** The DestinationRule edited later so that it no longer defines the subset the route uses. */
const REVIEWS_RULE_V2_ONLY = reviewsDestinationRule(['v2']);

test('analyze reports stored mistakes with codes, fixes and exit code 79', { timeout: 240_000 }, () =>
  withCliMesh(async (mesh) => {
    await writeFile(join(mesh.manifestDir, 'reviews.yaml'), REVIEWS);
    await writeFile(join(mesh.manifestDir, 'rule.yaml'), REVIEWS_RULE_V2_ONLY);
    const applied = await mesh.run(['apply', '-f', join(mesh.manifestDir, 'reviews.yaml')]);
    assert.equal(applied.code, 0, applied.stderr);

    const warned = await mesh.run(['analyze']);
    assert.equal(warned.code, 79, warned.stderr);
    assert.equal(
      warned.stdout,
      [
        'SEVERITY   CODE      RESOURCE                          MESSAGE',
        'Warning    IST0173   DestinationRule default/reviews   Subset "v2" selects no pod of service reviews.default.svc.cluster.local: no workload in namespace default has the labels app=reviews,version=v2',
        '                                                       fix: deploy a workload with those labels, or correct spec.subsets[1].labels (traffic routed to this subset fails)',
        '',
      ].join('\n'),
    );
    assert.equal(warned.stderr, 'Error: Analyzers found issues when analyzing namespace: default.\n');
    assert.equal((await mesh.run(['analyze', '--failure-threshold', 'Error'])).code, 0);

    assert.equal((await mesh.run(['apply', '-f', join(mesh.manifestDir, 'rule.yaml')])).code, 0);
    const json = await mesh.run(['analyze', '-o', 'json', '--failure-threshold', 'Error']);
    assert.equal(json.code, 79, json.stderr);
    assert.deepEqual(
      (JSON.parse(json.stdout) as Array<Record<string, unknown>>).map((f) => [f['level'], f['code'], f['name'], f['resource'], f['field']]),
      [
        ['Error', 'IST0101', 'ReferencedResourceNotFound', { kind: 'VirtualService', namespace: 'default', name: 'reviews' }, 'spec.http[0].route[0].destination.subset'],
        ['Warning', 'IST0173', 'DestinationRuleSubsetNotSelectPods', { kind: 'DestinationRule', namespace: 'default', name: 'reviews' }, 'spec.subsets[0].labels'],
      ],
    );

    const other = await mesh.run(['analyze', '-n', 'shop']);
    assert.deepEqual([other.code, other.stdout], [0, '✔ No validation issues found when analyzing namespace: shop.\n']);
    const bad = await mesh.run(['analyze', '--failure-threshold', 'Fatal']);
    assert.deepEqual([bad.code, bad.stderr.trim()], [2, 'error: --failure-threshold Fatal: use one of Info, Warning, Error\nRun "l4mesh analyze --help" for usage.']);
  }, { nodes: 1, upTimeoutMs: 60_000 }));
