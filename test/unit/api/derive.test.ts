// Derived values: canonical service name and revision precedence, SPIFFE identity, workload type
// and duration parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalName, canonicalRevision, identityOf, parseDuration, workloadTypeOf } from '../../../src/api/derive.js';

test('canonical name: canonical-name label, then app.kubernetes.io/name, then app, then the workload name', () => {
  const all = {
    'service.istio.io/canonical-name': 'ratings-canonical',
    'app.kubernetes.io/name': 'ratings-k8s',
    app: 'ratings-app',
  };
  assert.equal(canonicalName(all, 'ratings-v1'), 'ratings-canonical');
  assert.equal(canonicalName({ 'app.kubernetes.io/name': 'ratings-k8s', app: 'ratings-app' }, 'ratings-v1'), 'ratings-k8s');
  assert.equal(canonicalName({ app: 'ratings-app', version: 'v1' }, 'ratings-v1'), 'ratings-app');
  assert.equal(canonicalName({ version: 'v1' }, 'ratings-v1'), 'ratings-v1');
  assert.equal(canonicalName(undefined, 'ratings-v1'), 'ratings-v1');
  // An empty label value does not count as set.
  assert.equal(canonicalName({ app: '' }, 'ratings-v1'), 'ratings-v1');
});

test('canonical revision: canonical-revision label, then app.kubernetes.io/version, then version, then latest', () => {
  assert.equal(
    canonicalRevision({ 'service.istio.io/canonical-revision': 'r1', 'app.kubernetes.io/version': 'r2', version: 'r3' }),
    'r1',
  );
  assert.equal(canonicalRevision({ 'app.kubernetes.io/version': 'r2', version: 'r3' }), 'r2');
  assert.equal(canonicalRevision({ version: 'v2', app: 'ratings' }), 'v2');
  assert.equal(canonicalRevision({ app: 'ratings' }), 'latest');
  assert.equal(canonicalRevision(undefined), 'latest');
});

test('identity: SPIFFE URI with the service account, "default" when unset', () => {
  assert.equal(identityOf('cluster.local', 'bookinfo', 'bookinfo-ratings'), 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings');
  assert.equal(identityOf('example.org', 'default', undefined), 'spiffe://example.org/ns/default/sa/default');
  assert.equal(identityOf('cluster.local', 'default', ''), 'spiffe://cluster.local/ns/default/sa/default');
});

test('workload type from the owner kind', () => {
  assert.equal(workloadTypeOf('Deployment'), 'DEPLOYMENT');
  assert.equal(workloadTypeOf('ReplicaSet'), 'DEPLOYMENT');
  assert.equal(workloadTypeOf('CronJob'), 'CRONJOB');
  assert.equal(workloadTypeOf('Job'), 'JOB');
  assert.equal(workloadTypeOf('StatefulSet'), 'POD');
  assert.equal(workloadTypeOf(undefined), 'POD');
});

test('durations parse to milliseconds', () => {
  const cases: Array<[string, number]> = [
    ['15s', 15_000],
    ['1m30s', 90_000],
    ['250ms', 250],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['.5s', 500],
    ['2h', 7_200_000],
    ['1h2m3s4ms', 3_723_004],
    ['500us', 0.5],
    ['0', 0],
    ['0s', 0],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('bad durations throw L4MESH_ERR_CONFIG naming the text', () => {
  const cases: Array<[string, string]> = [
    ['', 'invalid duration "": empty'],
    ['15', 'invalid duration "15": missing unit after "15"'],
    ['5 seconds', 'invalid duration "5 seconds": unexpected "5 seconds"'],
    ['1m30', 'invalid duration "1m30": missing unit after "30"'],
    ['-5s', 'invalid duration "-5s": must not be negative'],
    ['10d', 'invalid duration "10d": unexpected "10d"'],
  ];
  for (const [text, start] of cases) {
    assert.throws(() => parseDuration(text), {
      code: 'L4MESH_ERR_CONFIG',
      message: `${start} (examples: "15s", "1m30s", "250ms", "1.5s")`,
    });
  }
});
