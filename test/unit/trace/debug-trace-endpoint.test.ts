// The admin port's /debug/trace: GET a trace by id (404 for one this proxy never saw), POST (admin token
// only) arms the next connection from a client address, bad ids and addresses are refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminHandler } from '../../../src/dataplane/admin/server.js';
import { TraceStore } from '../../../src/dataplane/trace/trace-store.js';

const TOKEN = 'secret-token';
const ID = 'ab'.repeat(16);

test('GET and POST /debug/trace', async () => {
  const traces = new TraceStore();
  const server = createServer(
    adminHandler({ configDump: () => ({}), setLogLevel: () => undefined, getLogLevel: () => 'info', quit: () => undefined, adminToken: TOKEN, traces }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, token?: string) => {
    const res = await fetch(base + path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
    return [res.status, await res.text()] as const;
  };
  try {
    assert.deepEqual(await call('GET', `/debug/trace?id=${ID}`), [404, `no trace ${ID} on this proxy: it keeps the last traces its sampled connections made, and none carried this id\n`]);
    assert.equal((await call('POST', `/debug/trace?id=${ID}&client=127.0.0.1:40000`))[0], 401);
    assert.equal((await call('POST', `/debug/trace?id=${ID}&client=127.0.0.1:40000`, 'wrong'))[0], 403);
    assert.deepEqual(await call('POST', `/debug/trace?id=xyz&client=127.0.0.1:40000`, TOKEN), [400, '?id= must be a trace id of 32 lower-case hex digits, got "xyz"\n']);
    assert.deepEqual(await call('POST', `/debug/trace?id=${ID}&client=localhost`, TOKEN), [400, '?client= must be the IPv4 ip:port the traced connection comes from, got "localhost"\n']);
    assert.equal(traces.claim('127.0.0.1:40000'), undefined);
    assert.deepEqual(await call('POST', `/debug/trace?id=${ID}&client=127.0.0.1:40000`, TOKEN), [200, `armed: the next connection from 127.0.0.1:40000 carries trace ${ID}\n`]);
    assert.equal(traces.claim('127.0.0.1:40000'), ID);

    traces.recorder(ID, 'node-2', 'inbound').record({ step: 'policy', verdict: 'OK', detail: 'allowed', facts: { rule: 0 } });
    const [status, body] = await call('GET', `/debug/trace?id=${ID}`);
    assert.equal(status, 200);
    const record = JSON.parse(body) as { id: string; dropped: number; decisions: Array<Record<string, unknown>> };
    assert.deepEqual([record.id, record.dropped, record.decisions.map(({ atMs: _, ...d }) => d)], [ID, 0, [{ proxy: 'node-2', direction: 'inbound', step: 'policy', verdict: 'OK', detail: 'allowed', facts: { rule: 0 } }]]);
    assert.deepEqual(await call('GET', '/debug/trace'), [200, JSON.stringify({ traces: [ID] }, null, 2) + '\n']);
    assert.equal((await call('PUT', `/debug/trace?id=${ID}`, TOKEN))[0], 405);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
