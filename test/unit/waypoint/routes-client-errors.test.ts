// The waypoint's route poller reports each way the control plane can fail it with an L4MESH_ERR_* code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RoutesClient } from '../../../src/waypoint/routes-client.js';
import type { L4meshError } from '../../../src/errors/index.js';

async function serve(status: number, body: string): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function baseUrl(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function pollError(url: string): Promise<L4meshError> {
  const client = new RoutesClient({ baseUrl: url, namespace: 'default', token: 't' });
  const err = await client.poll().then(
    () => assert.fail('poll succeeded'),
    (e: L4meshError) => e,
  );
  return err;
}

test('a refusal carrying a control-plane code keeps that code', async () => {
  const server = await serve(401, JSON.stringify({ error: { code: 'L4MESH_ERR_UNAUTHENTICATED', message: 'missing or unknown node token' } }));
  try {
    const err = await pollError(baseUrl(server));
    assert.equal(err.code, 'L4MESH_ERR_UNAUTHENTICATED');
    assert.match(err.message, /answered 401: missing or unknown node token; check the node token/);
  } finally {
    server.close();
  }
});

test('a refusal without a code is a protocol error naming the status', async () => {
  const server = await serve(502, 'bad gateway');
  try {
    const err = await pollError(baseUrl(server));
    assert.equal(err.code, 'L4MESH_ERR_PROTOCOL');
    assert.match(err.message, /answered 502: bad gateway$/);
  } finally {
    server.close();
  }
});

test('a 200 whose body is not JSON is a protocol error', async () => {
  const server = await serve(200, '<html>');
  try {
    const err = await pollError(baseUrl(server));
    assert.equal(err.code, 'L4MESH_ERR_PROTOCOL');
    assert.match(err.message, /not JSON/);
  } finally {
    server.close();
  }
});

test('nobody listening is L4MESH_ERR_NO_CONTROL_PLANE', async () => {
  const server = await serve(200, '{}');
  const url = baseUrl(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const err = await pollError(url);
  assert.equal(err.code, 'L4MESH_ERR_NO_CONTROL_PLANE');
  assert.match(err.message, /ECONNREFUSED.*is the control plane running/);
});
