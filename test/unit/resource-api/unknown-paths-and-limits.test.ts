// Paths that name no known kind are 404 listing the known ones; bodies over the limit are 413.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { KINDS } from '../../../src/api/kinds.js';
import { MAX_BODY_BYTES } from '../../../src/controlplane/api/index.js';
import { startApi } from './api-server.js';

test('unknown kinds, groups, versions and shapes of path are 404 L4MESH_ERR_UNKNOWN_KIND listing every known plural', async (t) => {
  const api = await startApi(t);
  const paths = [
    '/api/v1/namespaces/default/configmaps',
    '/api/v1/configmaps',
    '/api/v2/services',
    '/apis/example.com/v1/widgets',
    '/apis/networking.istio.io/v2/virtualservices',
    '/apis/apps/v1/namespaces/default/services',
    '/api/v1/services/reviews', // namespaced kind without a namespace
    '/api/v1/namespaces/default/namespaces/x', // cluster-scoped kind inside a namespace
    '/api/v1',
    '/api',
    '/apis',
    '/api/v1/namespaces/default/services/a/b',
  ];
  for (const path of paths) {
    const res = await api.call('GET', path);
    assert.equal(res.status, 404, path);
    assert.equal(res.json.error.code, 'L4MESH_ERR_UNKNOWN_KIND', path);
    assert.ok(res.json.error.message.startsWith(`${path}: `), res.json.error.message);
    for (const k of KINDS) assert.ok(res.json.error.message.includes(`${k.plural} (`), `${path} lists ${k.plural}`);
  }
  const one = await api.call('GET', '/api/v1/namespaces/default/configmaps');
  assert.ok(one.json.error.message.includes('deployments (/apis/apps/v1/namespaces/<namespace>/deployments)'));
  assert.ok(one.json.error.message.includes('namespaces (/api/v1/namespaces)'));
});

test('a declared Content-Length over 16 MiB is 413 before any body is read', async (t) => {
  const api = await startApi(t);
  assert.equal(MAX_BODY_BYTES, 16 * 1024 * 1024);
  const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: api.port,
        method: 'POST',
        path: '/apply',
        agent: false,
        headers: { authorization: `Bearer ${api.token}`, 'content-length': String(MAX_BODY_BYTES + 1) },
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', () => undefined); // the server closes while we would still be sending
    req.write('apiVersion: v1\n'); // a few bytes of the 16 MiB the header promised; never the rest
  });
  assert.equal(status.status, 413);
  assert.deepEqual(JSON.parse(status.body), {
    error: { code: 'L4MESH_ERR_BODY_TOO_LARGE', message: `request body is larger than ${MAX_BODY_BYTES} bytes; split the manifests into several requests` },
  });
  assert.deepEqual(api.store.list(), []);
});

test('a chunked body that grows past the limit is 413 while the client is still sending', async (t) => {
  const limit = 64 * 1024;
  const api = await startApi(t, limit);
  const chunk = Buffer.alloc(16 * 1024, 0x23); // '#': YAML comments, harmless if ever parsed
  const maxBytes = 1024 * chunk.length; // bounded: at most 16 MiB even if the server never answered
  // A raw socket reads while it writes, as curl does; Node's http client gives up on a write error first.
  const result = await new Promise<{ head: string; body: string; sent: number }>((resolve) => {
    const socket = connect(api.port, '127.0.0.1');
    let received = '';
    let sent = 0;
    const finish = () => {
      socket.destroy();
      const [head = '', body = ''] = received.split('\r\n\r\n');
      resolve({ head, body, sent });
    };
    socket.on('data', (d: Buffer) => {
      received += d.toString('utf8');
      if (/content-length: (\d+)/i.test(received) && received.includes('}\n')) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.write(`POST /apply HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${api.token}\r\ntransfer-encoding: chunked\r\n\r\n`);
    const pump = () => {
      if (received !== '' || socket.destroyed || sent >= maxBytes) return;
      for (let i = 0; i < 8; i++) {
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        socket.write('\r\n');
        sent += chunk.length;
      }
      setTimeout(pump, 1);
    };
    pump();
  });
  assert.match(result.head, /^HTTP\/1\.1 413 Payload Too Large\r\n/);
  assert.equal(JSON.parse(result.body).error.code, 'L4MESH_ERR_BODY_TOO_LARGE');
  assert.ok(result.sent < maxBytes, `client stopped after ${result.sent} bytes`);
  assert.deepEqual(api.store.list(), []);
});
