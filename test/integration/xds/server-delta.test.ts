// The Delta ADS server over a real gRPC stream: wildcard subscription, incremental pushes,
// removals, NACK handling without a resend loop, reconnect with initial_resource_versions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../../src/api/mesh.js';
import { encodeAuthorization, encodeService, encodeWorkload, resourceVersion } from '../../../src/proto/codec.js';
import { authorization, service, workload } from '../../unit/xds/mesh-fixture.js';
import { NODE_ID, RawAdsStream, namesAndVersions, startXds } from './ads-harness.js';

const wA = workload('ratings-a', '10.0.0.1');
const wB = workload('ratings-b', '10.0.0.2');
const svc = service('ratings', '10.96.0.1');
const pol = authorization('deny-evil');
const v = (bytes: Buffer) => resourceVersion(bytes);

test('wildcard subscription gets every workload and service, then only what changed', async (t) => {
  const xds = await startXds();
  t.after(() => xds.close());
  xds.source.set({ workloads: [wA, wB], services: [svc], authorizations: [pol] });
  const s = new RawAdsStream(xds.port);
  t.after(() => s.close());

  s.send({ node: { id: NODE_ID }, typeUrl: ADDRESS_TYPE_URL });
  const first = await s.next();
  assert.equal(first.typeUrl, ADDRESS_TYPE_URL);
  assert.deepEqual(namesAndVersions(first), [
    ['Kubernetes//Pod/default/ratings-a', v(encodeWorkload(wA))],
    ['Kubernetes//Pod/default/ratings-b', v(encodeWorkload(wB))],
    ['default/ratings.default.svc.cluster.local', v(encodeService(svc))],
  ]);
  assert.deepEqual(first.removedResources, []);
  assert.ok(first.nonce.length > 0);
  assert.ok(first.resources.every((r) => r.resource?.typeUrl === ADDRESS_TYPE_URL));
  s.send({ typeUrl: ADDRESS_TYPE_URL, responseNonce: first.nonce });

  s.send({ typeUrl: AUTHORIZATION_TYPE_URL });
  const auth = await s.next();
  assert.equal(auth.typeUrl, AUTHORIZATION_TYPE_URL);
  assert.deepEqual(namesAndVersions(auth), [['default/deny-evil', v(encodeAuthorization(pol))]]);
  s.send({ typeUrl: AUTHORIZATION_TYPE_URL, responseNonce: auth.nonce });

  const wB2 = { ...wB, status: 'UNHEALTHY' as const };
  xds.source.set({ workloads: [wA, wB2], services: [svc], authorizations: [pol] });
  const changed = await s.next();
  assert.equal(changed.typeUrl, ADDRESS_TYPE_URL);
  assert.deepEqual(namesAndVersions(changed), [['Kubernetes//Pod/default/ratings-b', v(encodeWorkload(wB2))]]);
  assert.deepEqual(changed.removedResources, []);
  assert.notEqual(changed.nonce, first.nonce);
  s.send({ typeUrl: ADDRESS_TYPE_URL, responseNonce: changed.nonce });

  const removedAt = Date.now();
  xds.source.set({ workloads: [wB2], services: [svc], authorizations: [] });
  const removals = [await s.next(), await s.next()].sort((a, b) => (a.typeUrl < b.typeUrl ? -1 : 1));
  assert.ok(Date.now() - removedAt < 1000, 'an endpoint removal reaches the proxy in under 1 s');
  assert.deepEqual(
    removals.map((r) => [r.typeUrl, r.resources.length, r.removedResources]),
    [
      [AUTHORIZATION_TYPE_URL, 0, ['default/deny-evil']],
      [ADDRESS_TYPE_URL, 0, ['Kubernetes//Pod/default/ratings-a']],
    ].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
  );

  const [conn] = xds.xds.connections();
  assert.equal(conn?.proxy.proxyId, 'ztunnel-a.istio-system');
  assert.deepEqual(conn?.types, [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL]);
  assert.equal(conn?.pushes, 5);
  assert.equal(conn?.nacks, 0);
  const metrics = await xds.registry.getMetricsAsJSON();
  const pushes = metrics.find((m) => m.name === 'pilot_xds_pushes')!.values.map((x) => [x.labels.type, x.value]);
  assert.deepEqual(pushes.sort(), [['address', 3], ['authorization', 2]]);
  assert.deepEqual(metrics.find((m) => m.name === 'pilot_xds')!.values.map((x) => x.value), [1]);
});

test('a burst of changes is coalesced into one push', async (t) => {
  const xds = await startXds();
  t.after(() => xds.close());
  xds.source.set({ workloads: [wA] });
  const s = new RawAdsStream(xds.port);
  t.after(() => s.close());
  s.send({ node: { id: NODE_ID }, typeUrl: ADDRESS_TYPE_URL });
  await s.next();
  await new Promise((r) => setTimeout(r, 30)); // past the minimum push interval
  for (let i = 0; i < 10; i++) xds.source.set({ workloads: [{ ...wA, capacity: i + 2 }] });
  const pushed = await s.drain(200);
  assert.deepEqual(pushed.map(namesAndVersions), [[['Kubernetes//Pod/default/ratings-a', v(encodeWorkload({ ...wA, capacity: 11 }))]]]);
});

test('a NACK is logged with its nonce and message and causes no resend', async (t) => {
  const xds = await startXds();
  t.after(() => xds.close());
  xds.source.set({ workloads: [wA] });
  const s = new RawAdsStream(xds.port);
  t.after(() => s.close());
  s.send({ node: { id: NODE_ID }, typeUrl: ADDRESS_TYPE_URL });
  const first = await s.next();
  s.send({ typeUrl: ADDRESS_TYPE_URL, responseNonce: first.nonce, errorDetail: { code: 3, message: 'cannot use workload' } });
  // An unrelated change (same versions for the NACKed resource) must not bring it back.
  xds.source.set({ workloads: [wA], services: [svc] });
  const after = await s.drain(300);
  assert.deepEqual(after.map(namesAndVersions), [[['default/ratings.default.svc.cluster.local', v(encodeService(svc))]]]);
  assert.equal(s.received, 2);
  const nack = xds.logs.find((l) => l.level === 'warn' && l.msg.includes('NACK'));
  assert.deepEqual(
    { nonce: nack?.fields?.nonce, message: nack?.fields?.message, code: nack?.fields?.code },
    { nonce: first.nonce, message: 'cannot use workload', code: 3 },
  );
  assert.equal(xds.xds.connections()[0]?.nacks, 1);
  const rejects = (await xds.registry.getMetricsAsJSON()).find((m) => m.name === 'pilot_total_xds_rejects')!;
  assert.deepEqual(rejects.values.map((x) => [x.labels.type, x.value]), [['address', 1]]);
});

test('reconnecting with initial_resource_versions gets only what changed meanwhile, removals included', async (t) => {
  const xds = await startXds();
  t.after(() => xds.close());
  const wC = workload('ratings-c', '10.0.0.3');
  xds.source.set({ workloads: [wA, wB], services: [svc] });
  const wA2 = { ...wA, labels: { app: 'ratings', version: 'v2' } };
  xds.source.set({ workloads: [wA2, wC], services: [svc] });
  const s = new RawAdsStream(xds.port);
  t.after(() => s.close());
  s.send({
    node: { id: NODE_ID },
    typeUrl: ADDRESS_TYPE_URL,
    initialResourceVersions: {
      [wA.uid]: v(encodeWorkload(wA)),
      [wB.uid]: v(encodeWorkload(wB)),
      'default/ratings.default.svc.cluster.local': v(encodeService(svc)),
    },
  });
  const r = await s.next();
  assert.deepEqual(namesAndVersions(r), [
    [wA.uid, v(encodeWorkload(wA2))],
    [wC.uid, v(encodeWorkload(wC))],
  ]);
  assert.deepEqual(r.removedResources, [wB.uid]);
});

test('an explicit subscription gets only the named resources, and a missing name as removed', async (t) => {
  const xds = await startXds();
  t.after(() => xds.close());
  xds.source.set({ workloads: [wA, wB], services: [svc] });
  const s = new RawAdsStream(xds.port);
  t.after(() => s.close());
  s.send({ node: { id: NODE_ID }, typeUrl: ADDRESS_TYPE_URL, resourceNamesSubscribe: [wB.uid, 'default/nothing'] });
  const r = await s.next();
  assert.deepEqual(namesAndVersions(r), [[wB.uid, v(encodeWorkload(wB))]]);
  assert.deepEqual(r.removedResources, ['default/nothing']);
});

test('a bad node id ends the stream with INVALID_ARGUMENT', async (t) => {
  const xds = await startXds();
  t.after(() => xds.close());
  const s = new RawAdsStream(xds.port);
  t.after(() => s.close());
  s.send({ node: { id: 'not-a-node-id' }, typeUrl: ADDRESS_TYPE_URL });
  for (let i = 0; i < 100 && !s.status; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(s.status?.code, 3);
  assert.equal(s.status?.details, 'invalid node id "not-a-node-id": expected <type>~<ip>~<name>.<namespace>~<namespace>.svc.cluster.local');
  for (let i = 0; i < 100 && xds.xds.connections().length + (await gauge(xds)) > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await gauge(xds), 0);
});

async function gauge(xds: Awaited<ReturnType<typeof startXds>>): Promise<number> {
  const m = (await xds.registry.getMetricsAsJSON()).find((x) => x.name === 'pilot_xds')!;
  return m.values[0]?.value ?? 0;
}
