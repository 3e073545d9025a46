// The inbound handler's decision reaches the client as an error code; malformed CONNECTs get 400
// without the handler being asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as h2connect } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { createHboneSecureContext } from '../../../src/dataplane/tls/secure-context.js';
import { hboneServerName } from '../../../src/dataplane/tls/server-name.js';
import { connectEcho, meshFixture, DST_ID, type MeshFixture } from './mesh-fixture.js';
import { eachTransport } from '../../support/transports.js';

eachTransport('handler 401 → L4MESH_ERR_POLICY_DENIED', {}, async (transport) => {
  const f = await meshFixture({ transport, decide: async () => ({ status: 401, reason: 'denied by ns/deny-all' }) });
  try {
    const rejected = once(f.server, 'streamRejected');
    await assert.rejects(connectEcho(f), { code: 'L4MESH_ERR_POLICY_DENIED' });
    const [request, status, reason] = await rejected;
    assert.equal(request.authority, `127.0.0.1:${f.echoPort}`);
    assert.deepEqual([status, reason], [401, 'denied by ns/deny-all']);
  } finally {
    await f.close();
  }
});

eachTransport('handler 503 → L4MESH_ERR_NO_HEALTHY_UPSTREAM', {}, async (transport) => {
  const f = await meshFixture({ transport, decide: async () => ({ status: 503, reason: 'connect ECONNREFUSED' }) });
  try {
    await assert.rejects(connectEcho(f), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'L4MESH_ERR_NO_HEALTHY_UPSTREAM');
      assert.match(err.message, new RegExp(`could not connect to 127\\.0\\.0\\.1:${f.echoPort} \\(HTTP 503\\)`));
      return true;
    });
  } finally {
    await f.close();
  }
});

/** A raw HTTP/2 client with the fixture's source certificate, for requests the pool would never send. */
async function rawRequest(f: MeshFixture, headers: Record<string, string>): Promise<number> {
  const socket = tlsConnect({
    host: f.proxyAddress.host,
    port: f.proxyAddress.port,
    secureContext: createHboneSecureContext(f.src),
    servername: hboneServerName(DST_ID),
    ALPNProtocols: ['h2'],
    checkServerIdentity: () => undefined,
  });
  await once(socket, 'secureConnect');
  const session = h2connect(`https://127.0.0.1:${f.proxyAddress.port}`, { createConnection: () => socket });
  try {
    const stream = session.request(headers, { endStream: headers[':method'] !== 'CONNECT' });
    const [response] = (await once(stream, 'response')) as [Record<string, string | number>];
    stream.close();
    return Number(response[':status']);
  } finally {
    session.destroy();
  }
}

eachTransport('a non-CONNECT request gets 400 and never reaches the handler', {}, async (transport) => {
  const f = await meshFixture({ transport });
  try {
    assert.equal(await rawRequest(f, { ':method': 'GET', ':path': '/' }), 400);
    assert.equal(f.handled.length, 0);
  } finally {
    await f.close();
  }
});

eachTransport('a CONNECT whose :authority is not ip:port gets 400 and never reaches the handler', {}, async (transport) => {
  const f = await meshFixture({ transport });
  try {
    assert.equal(await rawRequest(f, { ':method': 'CONNECT', ':authority': 'ratings.default:9080' }), 400);
    assert.equal(await rawRequest(f, { ':method': 'CONNECT', ':authority': '127.0.0.1:0' }), 400);
    assert.equal(f.handled.length, 0);
  } finally {
    await f.close();
  }
});
