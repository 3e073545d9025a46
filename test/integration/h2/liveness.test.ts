// PING liveness: a connection whose peer answers PINGs stays up; once the path black-holes, the
// session closes within the PING timeout and its open streams fail with L4MESH_ERR_HTTP2_CONNECTION.
import assert from 'node:assert/strict';
import { createSecureServer } from 'node:http2';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { connectH2 } from '../../../src/dataplane/hbone/h2/client.js';
import { skipHostCheck, tlsMaterial, waitFor } from './fixture.js';

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

test('a black-holed path is detected by PING and the session closes with its streams', async () => {
  const tls = await tlsMaterial();
  const server = createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: false });
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    stream.respond({ ':status': 200 });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => server.close());
  // A relay we can freeze: both directions stop moving bytes, as on a dead path.
  const relayed: Socket[] = [];
  const relay = createServer((inbound) => {
    const outbound = connect((server.address() as AddressInfo).port, '127.0.0.1');
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => {});
    outbound.on('error', () => {});
    relayed.push(inbound, outbound);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  cleanups.push(() => (relay.close(), relayed.forEach((s) => s.destroy())));

  const session = await connectH2(
    { host: '127.0.0.1', port: (relay.address() as AddressInfo).port, ca: tls.ca, checkServerIdentity: skipHostCheck },
    { pingIntervalMs: 200, pingTimeoutMs: 1_000 },
  );
  cleanups.push(() => session.destroy());
  const rtt = await session.ping();
  assert.equal(typeof rtt, 'number');
  assert.ok(Number.isFinite(rtt));
  const stream = session.request({ ':method': 'CONNECT', ':authority': '10.0.0.1:80' });
  await new Promise((r) => stream.once('response', r));
  const streamError = new Promise<Error & { code?: string }>((r) => stream.once('error', r));
  // Several PING intervals with a live peer: still open.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(session.destroyed, false);

  for (const s of relayed) {
    s.unpipe();
    s.pause();
  }
  const frozenAt = Date.now();
  await waitFor('the session to close', () => session.destroyed, 30_000);
  // Detection needs a PING interval plus its timeout; the box may be loaded, so only a loose upper bound.
  assert.ok(Date.now() - frozenAt < 20_000);
  assert.equal((await streamError).code, 'L4MESH_ERR_HTTP2_CONNECTION');
  assert.match((await streamError).message, /did not answer a PING within 1000 ms/);
});
