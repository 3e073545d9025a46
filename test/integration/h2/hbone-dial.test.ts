// Our client on the mesh's real HBONE listener (node:http2 HboneServer with mutual TLS and SPIFFE
// identities): CONNECT through it to an echo workload byte-exact, the handler sees the request, a
// wrong destination identity is refused, and the transport flag parses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Socket } from 'node:net';
import { dialHboneL4mesh, parseHboneTransport } from '../../../src/dataplane/hbone/h2/dial.js';
import { readsIntoUserBuffer } from '../../../src/dataplane/node-compat.js';
import { createHboneSecureContext } from '../../../src/dataplane/tls/secure-context.js';
import { hboneServerName } from '../../../src/dataplane/tls/server-name.js';
import { DST_ID, SRC_ID, meshFixture } from '../hbone/mesh-fixture.js';
import { PAYLOAD, echo, sha256 } from './fixture.js';

const MiB = 1024 * 1024;

test('our client opens CONNECT tunnels through the HboneServer to the echo workload, 4 at once, byte-exact', async () => {
  const f = await meshFixture();
  const session = await dialHboneL4mesh(createHboneSecureContext(f.src), { ...f.proxyAddress, dstIdentity: DST_ID }, 10_000);
  try {
    const results = await Promise.all([0, 1, 2, 3].map(async (i) => {
      const stream = session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${f.echoPort}`, baggage: `k8s.deployment.name=productpage-${i}` });
      const [headers] = await new Promise<[Record<string, string | number>]>((r) => stream.once('response', (h) => r([h])));
      assert.equal(headers[':status'], 200);
      return echo(stream, PAYLOAD.subarray(i, i + 2 * MiB));
    }));
    results.forEach((r, i) => assert.deepEqual(r, { hash: sha256(PAYLOAD.subarray(i, i + 2 * MiB)), bytes: 2 * MiB }));
    // The echoes came back through pooled reads of the TLS socket, not a new buffer per decrypted piece.
    assert.equal(readsIntoUserBuffer(session.socket as Socket), true);
    assert.deepEqual(f.handled.map((h) => [h.peerIdentity, h.localIdentity, h.authority]).sort(), Array(4).fill([SRC_ID, DST_ID, `127.0.0.1:${f.echoPort}`]));
    assert.deepEqual(f.handled.map((h) => h.headers?.baggage).sort(), [0, 1, 2, 3].map((i) => `k8s.deployment.name=productpage-${i}`));
  } finally {
    session.destroy();
    await f.close();
  }
});

test('a destination proving another SPIFFE id is refused with L4MESH_ERR_IDENTITY_MISMATCH', async () => {
  // The listener presents DST_ID whatever name the client asks for, as a misrouted connection would.
  const f = await meshFixture({ secureContextFor: (table) => table.secureContextFor(hboneServerName(DST_ID)) });
  try {
    const wrong = 'spiffe://cluster.local/ns/default/sa/reviews';
    await assert.rejects(
      dialHboneL4mesh(createHboneSecureContext(f.src), { ...f.proxyAddress, dstIdentity: wrong }, 10_000),
      { code: 'L4MESH_ERR_IDENTITY_MISMATCH' },
    );
  } finally {
    await f.close();
  }
});

test('the transport flag: l4mesh by default, node when asked, anything else names the flag', () => {
  assert.equal(parseHboneTransport(undefined, '--hbone-transport'), 'l4mesh');
  assert.equal(parseHboneTransport('node', '--hbone-transport'), 'node');
  assert.equal(parseHboneTransport('l4mesh', '--hbone-transport'), 'l4mesh');
  assert.throws(() => parseHboneTransport('nghttp2', '--hbone-transport'), { code: 'L4MESH_ERR_CONFIG', message: '--hbone-transport must be "node" or "l4mesh", got "nghttp2"' });
});
