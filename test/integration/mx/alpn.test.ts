// The sidecar's ALPN on real TLS sockets: the server's choice (selectMxProtocol) matches what
// `ALPNProtocols: MX_ALPN` chose, alerts included, and the copy Node keeps per socket of the client's
// MX_ALPN_WIRE is an ArrayBuffer of its own, not a slab of the shared 8 KiB Buffer pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { MX_ALPN, MX_ALPN_WIRE, selectMxProtocol } from '../../../src/dataplane/mx/handshake.js';
import { createTestCa } from '../../support/test-pki.js';

test('MX_ALPN_WIRE: the length-prefixed names, as a DataView', () => {
  assert.ok(ArrayBuffer.isView(MX_ALPN_WIRE) && !(MX_ALPN_WIRE instanceof Uint8Array));
  const view = MX_ALPN_WIRE as unknown as DataView;
  assert.deepEqual(Buffer.from(view.buffer, view.byteOffset, view.byteLength), Buffer.from('\x13istio-peer-exchange\x05istio', 'latin1'));
  assert.equal(selectMxProtocol({ protocols: ['istio', 'istio-peer-exchange'] }), 'istio-peer-exchange');
  assert.equal(selectMxProtocol({ protocols: ['h2', 'istio'] }), 'istio');
  assert.equal(selectMxProtocol({ protocols: ['h2', 'http/1.1'] }), undefined);
});

test('a server choosing with selectMxProtocol answers every offer as one with ALPNProtocols: MX_ALPN does', { timeout: 30_000 }, async () => {
  const ca = await createTestCa();
  const id = await ca.issue('spiffe://cluster.local/ns/default/sa/server');
  const outcomes: Record<string, string[]> = {};
  for (const [name, alpn] of [
    ['list', { ALPNProtocols: [...MX_ALPN] }],
    ['callback', { ALPNCallback: selectMxProtocol }],
  ] as const) {
    const server = createServer({ key: id.keyPem, cert: id.chainPem[0], ...alpn }, (s) => s.end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    outcomes[name] = [];
    const offers: Array<string[] | Uint8Array | undefined> = [undefined, ['h2'], ['istio'], ['istio', 'istio-peer-exchange'], MX_ALPN_WIRE];
    for (const offer of offers) {
      outcomes[name]!.push(
        await new Promise<string>((resolve) => {
          const s: TLSSocket = connect({ port, host: '127.0.0.1', ca: ca.rootPem, checkServerIdentity: () => undefined, ...(offer ? { ALPNProtocols: offer } : {}) });
          s.on('secureConnect', () => {
            resolve(`alpn ${s.alpnProtocol}`);
            s.destroy();
          });
          s.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
        }),
      );
    }
    server.close();
  }
  const expected = ['alpn false', 'error ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL', 'alpn istio', 'alpn istio-peer-exchange', 'alpn istio-peer-exchange'];
  assert.deepEqual(outcomes, { list: expected, callback: expected });
});

test('the ALPN copy a client socket keeps is 26 bytes of its own, where an array or Uint8Array lands in the 8 KiB pool', { timeout: 30_000 }, async () => {
  const ca = await createTestCa();
  const id = await ca.issue('spiffe://cluster.local/ns/default/sa/server');
  const server = createServer({ key: id.keyPem, cert: id.chainPem[0], ALPNCallback: selectMxProtocol }, (s) => s.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  try {
    const keptBy = async (ALPNProtocols: string[] | Uint8Array): Promise<number> => {
      const s = connect({ port, host: '127.0.0.1', ca: ca.rootPem, checkServerIdentity: () => undefined, ALPNProtocols });
      await once(s, 'secureConnect');
      // Node's own field: the options it keeps for the socket's life.
      const kept = (s as unknown as { _tlsOptions: { ALPNProtocols: Buffer } })._tlsOptions.ALPNProtocols;
      s.destroy();
      assert.deepEqual(Buffer.from(kept), Buffer.from('\x13istio-peer-exchange\x05istio', 'latin1'));
      return kept.buffer.byteLength;
    };
    assert.equal(await keptBy(MX_ALPN_WIRE), 26);
    assert.equal(await keptBy([...MX_ALPN]), Buffer.poolSize, 'control: an array is copied into the pool');
  } finally {
    server.close();
  }
});
