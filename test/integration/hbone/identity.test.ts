// Both ends of HBONE prove SPIFFE identities: the client checks the server's id, the server refuses
// certificates from another root, and a dial that never completes times out with an operator hint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { L4meshError } from '../../../src/errors/index.js';
import { HboneClientPool } from '../../../src/dataplane/hbone/client-pool.js';
import { createHboneSecureContext } from '../../../src/dataplane/tls/secure-context.js';
import { createTestCa } from '../../support/test-pki.js';
import { connectEcho, meshFixture, DST_ID, SRC_ID } from './mesh-fixture.js';
import { eachTransport } from '../../support/transports.js';

const IMPOSTOR_ID = 'spiffe://cluster.local/ns/default/sa/reviews';

eachTransport('a server proving another identity is rejected with L4MESH_ERR_IDENTITY_MISMATCH', {}, async (transport) => {
  const ca = await createTestCa();
  const impostor = await ca.issue(IMPOSTOR_ID);
  const impostorContext = createHboneSecureContext(impostor);
  // The server answers every server name with the impostor's certificate (same root, wrong id).
  const f = await meshFixture({ transport, secureContextFor: () => impostorContext, srcIdentity: await ca.issue(SRC_ID) });
  try {
    await assert.rejects(connectEcho(f), (err: unknown) => {
      assert.ok(err instanceof L4meshError);
      assert.equal(err.code, 'L4MESH_ERR_IDENTITY_MISMATCH');
      assert.match(err.message, new RegExp(`presented identity ${IMPOSTOR_ID}, expected ${DST_ID}`));
      return true;
    });
    assert.equal(f.handled.length, 0);
    assert.deepEqual(f.pool.stats(), []);
  } finally {
    await f.close();
  }
});

eachTransport('a client certificate from an unrelated root is refused during the handshake', {}, async (transport) => {
  const otherCa = await createTestCa('unrelated root');
  const foreign = await otherCa.issue(SRC_ID);
  const f = await meshFixture({ transport, srcIdentity: foreign });
  // The client still trusts the real mesh root, so only the server's check can fail.
  foreign.rootPem = f.ca.rootPem;
  try {
    await assert.rejects(connectEcho(f), (err: unknown) => {
      assert.ok(err instanceof L4meshError);
      assert.equal(err.code, 'L4MESH_ERR_CERTIFICATE');
      assert.match(err.message, /may have refused our certificate|refused our certificate/);
      return true;
    });
    assert.equal(f.handled.length, 0);
    assert.equal(f.counts.sessionsOpened, 0);
    assert.equal(f.counts.handshakeFailures, 1);
  } finally {
    await f.close();
  }
});

eachTransport('an identity the server does not hold (unknown SNI) fails the handshake', {}, async (transport) => {
  const f = await meshFixture({ transport });
  try {
    const attempt = f.pool.connect({
      srcIdentity: SRC_ID,
      dstIdentity: 'spiffe://cluster.local/ns/other/sa/unknown',
      dstNode: 'node-b',
      proxyAddress: f.proxyAddress,
      authority: `127.0.0.1:${f.echoPort}`,
      headers: {},
    });
    await assert.rejects(attempt, (err: unknown) => {
      assert.ok(err instanceof L4meshError);
      assert.equal(err.code, 'L4MESH_ERR_PROTOCOL');
      assert.match(err.message, /^TLS handshake with 127\.0\.0\.1:\d+ failed/);
      return true;
    });
    assert.equal(f.handled.length, 0);
    assert.equal(f.counts.handshakeFailures, 1);
  } finally {
    await f.close();
  }
});

eachTransport('a proxy that accepts TCP but never answers TLS times out with L4MESH_ERR_CONNECT_TIMEOUT', {}, async (transport) => {
  const ca = await createTestCa();
  const src = await ca.issue(SRC_ID);
  const accepted: Socket[] = [];
  const silent = createServer((s) => accepted.push(s));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const port = (silent.address() as { port: number }).port;
  const pool = new HboneClientPool({ tlsFor: () => src, connectTimeoutMs: 200, transport });
  try {
    const started = Date.now();
    await assert.rejects(
      pool.connect({
        srcIdentity: SRC_ID,
        dstIdentity: DST_ID,
        dstNode: 'node-b',
        proxyAddress: { host: '127.0.0.1', port },
        authority: '127.0.0.1:9080',
        headers: {},
      }),
      {
        code: 'L4MESH_ERR_CONNECT_TIMEOUT',
        message: `connection to 127.0.0.1:${port} timed out after 200 ms — is the destination node proxy running?`,
      },
    );
    assert.ok(Date.now() - started < 2_000);
  } finally {
    await pool.close();
    for (const s of accepted) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});
