// XdsClient against a real XdsServer: initial sync, incremental updates, NACK of an undecodable
// resource, and reconnect with backoff after the server restarts on the same port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../../src/api/mesh.js';
import { XdsClient, type XdsUpdate } from '../../../src/dataplane/xds/client.js';
import type { L4meshError } from '../../../src/errors/index.js';
import { aggregatedDiscoveryService } from '../../../src/proto/ads-service.js';
import { encodeWorkload, resourceVersion, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse } from '../../../src/proto/codec.js';
import { authorization, service, workload } from '../../unit/xds/mesh-fixture.js';
import { NODE_ID, startXds } from './ads-harness.js';

const wA = workload('ratings-a', '10.0.0.1');
const wB = workload('ratings-b', '10.0.0.2');
const svc = service('ratings', '10.96.0.1');
const pol = authorization('deny-evil');

function newClient(port: number): XdsClient {
  return new XdsClient({
    address: `127.0.0.1:${port}`,
    credentials: grpc.credentials.createInsecure(),
    nodeId: NODE_ID,
    backoff: { initialMs: 10, maxMs: 200 },
  });
}

/** Resolves with the first event `name` whose payload satisfies `pred`, or fails after `ms`. */
function waitFor<T>(client: XdsClient, name: string, pred: (v: T) => boolean = () => true, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(name, on);
      reject(new Error(`no matching '${name}' event within ${ms} ms`));
    }, ms);
    const on = (v: T) => {
      if (!pred(v)) return;
      clearTimeout(timer);
      client.off(name, on);
      resolve(v);
    };
    client.on(name, on);
  });
}

test('the client syncs both types, then applies one changed workload and a removal', async (t) => {
  const xds = await startXds();
  t.after(() => xds.close());
  xds.source.set({ workloads: [wA, wB], services: [svc], authorizations: [pol] });
  const client = newClient(xds.port);
  t.after(() => client.stop());
  const updates: XdsUpdate[] = [];
  client.on('update', (u: XdsUpdate) => updates.push(u));
  const connected = waitFor(client, 'connected');
  assert.equal(client.hasSynced(), false);
  client.start();
  await connected;
  for (let i = 0; i < 200 && !client.hasSynced(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(client.hasSynced(), true);
  const snap = client.snapshot();
  assert.deepEqual([...snap.workloads.keys()].sort(), [wA.uid, wB.uid]);
  assert.deepEqual(snap.workloads.get(wA.uid), wA);
  assert.deepEqual(snap.services.get('default/ratings.default.svc.cluster.local'), svc);
  assert.deepEqual(snap.authorizations.get('default/deny-evil'), pol);
  assert.deepEqual(
    updates.map((u) => u.changed).sort((a, b) => a.authorizations.length - b.authorizations.length),
    [
      { workloads: [wA.uid, wB.uid], services: ['default/ratings.default.svc.cluster.local'], authorizations: [], removed: [] },
      { workloads: [], services: [], authorizations: ['default/deny-evil'], removed: [] },
    ],
  );

  const wA2 = { ...wA, status: 'UNHEALTHY' as const };
  const next = waitFor<XdsUpdate>(client, 'update');
  xds.source.set({ workloads: [wA2], services: [svc], authorizations: [pol] });
  const u = await next;
  assert.deepEqual(u.changed, { workloads: [wA.uid], services: [], authorizations: [], removed: [wB.uid] });
  assert.deepEqual(u.snapshot.workloads.get(wA.uid), wA2);
  assert.equal(u.snapshot.workloads.has(wB.uid), false);
  // The earlier snapshot object is untouched (copy on write).
  assert.deepEqual(snap.workloads.get(wA.uid), wA);
  // The server saw ACKs, no NACKs.
  for (let i = 0; i < 100 && !xds.xds.connections()[0]?.lastAckAt; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(xds.xds.connections()[0]?.nacks, 0);
  assert.ok(xds.xds.connections()[0]?.lastAckAt instanceof Date);
});

test('a resource whose Any type does not match is NACKed with code 3 and the old state kept', async (t) => {
  // A hand-made server that sends one good response, then a workload packed under the wrong type URL.
  const requests: DeltaDiscoveryRequest[] = [];
  const server = new grpc.Server();
  server.addService(aggregatedDiscoveryService, {
    DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) => {
      call.on('data', (req: DeltaDiscoveryRequest) => {
        requests.push(req);
        if (req.responseNonce === '' && req.typeUrl === ADDRESS_TYPE_URL) {
          const good = encodeWorkload(wA);
          call.write({ typeUrl: ADDRESS_TYPE_URL, nonce: 'n1', removedResources: [], resources: [{ name: wA.uid, version: resourceVersion(good), resource: { typeUrl: ADDRESS_TYPE_URL, value: good } }] });
          call.write({ typeUrl: ADDRESS_TYPE_URL, nonce: 'n2', removedResources: [wA.uid], resources: [{ name: wB.uid, version: 'x', resource: { typeUrl: AUTHORIZATION_TYPE_URL, value: encodeWorkload(wB) } }] });
        }
      });
      call.on('error', () => {});
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  t.after(() => server.forceShutdown());
  const client = new XdsClient({ address: `127.0.0.1:${port}`, credentials: grpc.credentials.createInsecure(), nodeId: NODE_ID, typeUrls: [ADDRESS_TYPE_URL] });
  t.after(() => client.stop());
  client.start();
  for (let i = 0; i < 300 && !requests.some((r) => r.responseNonce === 'n2'); i++) await new Promise((r) => setTimeout(r, 10));
  const answers = requests.filter((r) => r.responseNonce).map((r) => [r.responseNonce, r.errorDetail ? { code: r.errorDetail.code, message: r.errorDetail.message } : null]);
  assert.deepEqual(answers, [
    ['n1', null],
    ['n2', { code: 3, message: `resource has type ${AUTHORIZATION_TYPE_URL}, expected ${ADDRESS_TYPE_URL}` }],
  ]);
  assert.equal(requests[0]?.node?.id, NODE_ID);
  assert.deepEqual([...client.snapshot().workloads.keys()], [wA.uid]);
  assert.equal(client.hasSynced(), true);
});

test('after the server restarts on the same port the client reconnects and resends what it holds', async (t) => {
  let xds = await startXds();
  const port = xds.port;
  t.after(() => xds.close());
  xds.source.set({ workloads: [wA, wB], services: [svc] });
  const client = newClient(port);
  t.after(() => client.stop());
  const firstSync = waitFor<XdsUpdate>(client, 'update', (u) => u.snapshot.workloads.size === 2);
  client.start();
  await firstSync;

  const disconnected = waitFor<Error>(client, 'disconnected');
  await xds.close();
  const err = await disconnected;
  // Each failed reconnect attempt while the server is down ends in another 'disconnected'.
  let failedAttempts = 0;
  client.on('disconnected', () => failedAttempts++);
  // forceShutdown resets the stream (CANCELLED) or drops the connection first (UNAVAILABLE).
  // The proxy reports it as the control plane being away, with the gRPC status as the cause.
  assert.equal((err as L4meshError).code, 'L4MESH_ERR_NO_CONTROL_PLANE', String(err));
  assert.ok([grpc.status.CANCELLED, grpc.status.UNAVAILABLE].includes((err.cause as grpc.ServiceError).code), String(err.cause));

  // While the server is down the mesh changes: wB is gone, a new workload appeared.
  const wC = workload('ratings-c', '10.0.0.3');
  const source = xds.source;
  source.set({ workloads: [wA, wC], services: [svc] });
  // A few failed attempts, backing off, before the server comes back.
  for (let i = 0; failedAttempts < 2; i++) {
    if (i >= 400) throw new Error(`only ${failedAttempts} failed reconnect attempts within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const reconnected = waitFor(client, 'connected');
  const resync = waitFor<XdsUpdate>(client, 'update');
  xds = await startXds(port, source);
  await reconnected;
  const u = await resync;
  // Only the difference travels: wA and the service were held at the same versions.
  assert.deepEqual(u.changed, { workloads: [wC.uid], services: [], authorizations: [], removed: [wB.uid] });
  assert.deepEqual([...u.snapshot.workloads.keys()].sort(), [wA.uid, wC.uid]);
});
