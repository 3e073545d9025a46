// A proxy whose xDS stream the control plane refuses reports why with an L4MESH_ERR_* code: a refused
// token is UNAUTHENTICATED, a node id it cannot parse is CONFIG (the gRPC status stays the cause).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { XdsServer } from '../../../src/controlplane/xds/server.js';
import { XdsClient } from '../../../src/dataplane/xds/client.js';
import type { L4meshError } from '../../../src/errors/index.js';
import { FakeMeshSource } from '../../unit/xds/mesh-fixture.js';
import { NODE_ID } from './ads-harness.js';

async function refusingServer(t: { after(fn: () => void): void }): Promise<number> {
  const xds = new XdsServer({
    source: new FakeMeshSource(),
    metrics: new Registry(),
    log: () => undefined,
    admit: (_proxy, metadata) => (metadata.get('authorization')[0] === 'Bearer good' ? undefined : 'unknown node token'),
  });
  const server = new grpc.Server();
  xds.register(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.after(() => {
    xds.close();
    server.forceShutdown();
  });
  return port;
}

function firstDisconnect(port: number, nodeId: string, token: string, t: { after(fn: () => void): void }): Promise<L4meshError> {
  const client = new XdsClient({
    address: `127.0.0.1:${port}`,
    credentials: grpc.credentials.createInsecure(),
    nodeId,
    metadata: { authorization: `Bearer ${token}` },
    backoff: { initialMs: 1_000, maxMs: 5_000 },
  });
  t.after(() => client.stop());
  const disconnected = new Promise<L4meshError>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no disconnect within 30 s')), 30_000);
    client.once('disconnected', (err: L4meshError) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
  client.start();
  return disconnected;
}

test('a refused node token is L4MESH_ERR_UNAUTHENTICATED with a hint', async (t) => {
  const port = await refusingServer(t);
  const err = await firstDisconnect(port, NODE_ID, 'bad', t);
  assert.equal(err.code, 'L4MESH_ERR_UNAUTHENTICATED');
  assert.equal((err.cause as grpc.ServiceError).code, grpc.status.UNAUTHENTICATED);
  assert.match(err.message, new RegExp(`^xDS stream to 127\\.0\\.0\\.1:${port} failed: 16 UNAUTHENTICATED: unknown node token; check the node token this proxy was started with$`));
});

test('a node id the control plane cannot parse is L4MESH_ERR_CONFIG', async (t) => {
  const port = await refusingServer(t);
  const err = await firstDisconnect(port, 'not-a-node-id', 'good', t);
  assert.equal(err.code, 'L4MESH_ERR_CONFIG');
  assert.equal((err.cause as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
  assert.match(err.message, /invalid node id "not-a-node-id"/);
});
