// A real sidecar's istio-peer-exchange has a deadline: a peer that announces a small frame (≤ 64 KiB)
// and sends only part of it is closed at DEFAULT_EXCHANGE_TIMEOUT_MS, never dialled through, counted
// (istio_tcp_connections_failed_total, envoy_metadata_exchange_header_not_found) and logged at error,
// while other connections to the same sidecar keep working meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { connect } from 'node:tls';
import { MX_HEADER_BYTES, MX_MAGIC } from '../../../src/dataplane/mx/codec.js';
import { DEFAULT_EXCHANGE_TIMEOUT_MS, MX_ALPN } from '../../../src/dataplane/mx/handshake.js';
import type { WorkloadCertificate } from '../../../src/identity/workload-certificate.js';
import { sidecarServerName } from '../../../src/dataplane/tls/sidecar-server-name.js';
import { eventually, startMesh } from '../../support/mesh.js';
import { select, total } from '../../support/prometheus-text.js';
import { startNamedEcho } from '../../support/workloads.js';
import { ECHO_PORT, labelObject, meshCertificate, pod, scrapeAt, service, SIDECAR_LABEL, startSidecar } from './sidecar-mesh.js';

/** Generous: the sidecar must close at its deadline, the test only bounds how long it waits for that. */
const CLOSE_WAIT_MS = DEFAULT_EXCHANGE_TIMEOUT_MS + 20_000;

interface Held {
  received: Buffer;
  /** Milliseconds from the TLS handshake to the sidecar closing the connection. */
  heldMs: number;
}

/** Mesh TLS with `alpn` from `localAddress`, writes `payload` without ending, waits for the sidecar to close. */
function stalledPeer(cert: WorkloadCertificate, host: string, localAddress: string, payload: Buffer, alpn?: string[], end = false): Promise<Held> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const tcp = netConnect({ host, port: 15006, localAddress });
    const socket = connect({
      socket: tcp,
      servername: sidecarServerName('echo.default.svc.cluster.local', ECHO_PORT),
      key: cert.keyPem,
      cert: cert.chainPem.join(''),
      ca: cert.rootPem,
      ...(alpn ? { ALPNProtocols: alpn } : {}),
      checkServerIdentity: () => undefined,
    });
    let securedAt = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the sidecar held the connection for more than ${CLOSE_WAIT_MS} ms`));
    }, CLOSE_WAIT_MS);
    socket.on('secureConnect', () => {
      securedAt = Date.now();
      if (end) socket.end(payload);
      else socket.write(payload);
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), heldMs: Date.now() - securedAt });
    });
  });
}

function header(length: number): Buffer {
  const h = Buffer.alloc(MX_HEADER_BYTES);
  h.writeUInt32BE(MX_MAGIC, 0);
  h.writeUInt32BE(length, 4);
  return h;
}

/** What came after the sidecar's own metadata frame. */
function afterServerFrame(received: Buffer): Buffer {
  if (received.length === 0) return received;
  assert.equal(received.readUInt32BE(0), MX_MAGIC, 'the sidecar writes its metadata frame first');
  return received.subarray(MX_HEADER_BYTES + received.readUInt32BE(4));
}

test('a peer that sends part of its announced metadata is closed at the exchange deadline and counted', { timeout: 180_000 }, async () => {
  const mesh = await startMesh({ nodes: 2, reportingDuration: '1s' });
  const serverIp = mesh.podIp(10);
  const rawIp = mesh.podIp(30);
  const echo = await startNamedEcho(serverIp, ECHO_PORT, 'echo-sc');
  let sidecar;
  try {
    await mesh.apply(
      service('echo', 'echo') +
        pod({ name: 'echo-v1-abcde', workload: 'echo-v1', ip: serverIp, node: 2, labels: { app: 'echo', version: 'v1', ...SIDECAR_LABEL }, serviceAccount: 'echo' }) +
        pod({ name: 'raw-abcde', workload: 'raw', ip: rawIp, node: 2, labels: { app: 'raw', version: 'v7' }, serviceAccount: 'raw' }),
    );
    sidecar = await startSidecar(mesh, { name: 'echo-v1-abcde', ip: serverIp, node: 2, block: 4 });
    const cert = await meshCertificate(mesh, 2, 'spiffe://cluster.local/ns/default/sa/raw');

    // Magic, a 100-byte length, 10 payload bytes, then nothing (and no FIN): the stall the deadline ends.
    const partialPayload = stalledPeer(cert, serverIp, rawIp, Buffer.concat([header(100), Buffer.from('0123456789')]), [...MX_ALPN]);
    // Half a header (4 bytes of magic) and nothing more: also a started frame.
    const partialHeader = stalledPeer(cert, serverIp, rawIp, header(100).subarray(0, 4), [...MX_ALPN]);
    // Meanwhile a client without the ALPN is served at once.
    const plain = Buffer.from('plain TLS while two peers stall\n');
    const other = await stalledPeer(cert, serverIp, rawIp, plain, undefined, true);
    assert.deepEqual(other.received, Buffer.concat([Buffer.from('echo-sc\n'), plain]));
    assert.ok(other.heldMs < DEFAULT_EXCHANGE_TIMEOUT_MS, `served in ${other.heldMs} ms, before the stalled peers' deadline`);

    for (const held of [await partialPayload, await partialHeader]) {
      assert.deepEqual(afterServerFrame(held.received), Buffer.alloc(0), 'closed with nothing from the workload');
      assert.ok(held.heldMs >= DEFAULT_EXCHANGE_TIMEOUT_MS - 100, `closed at the deadline, not before (${held.heldMs} ms)`);
    }
    assert.equal(echo.accepted, 1, 'only the plain client reached the workload');

    const samples = await eventually(async () => {
      const s = await scrapeAt(serverIp);
      return total(s, 'istio_tcp_connections_failed_total', { reporter: 'destination' }) === 2 ? s : undefined;
    }, 15_000, 'two failed connections');
    assert.equal(total(samples, 'envoy_metadata_exchange_header_not_found'), 2);
    assert.equal(total(samples, 'envoy_metadata_exchange_alpn_protocol_found'), 2);
    const failed = select(samples, 'istio_tcp_connections_failed_total', { reporter: 'destination' });
    assert.equal(failed.length, 1);
    assert.deepEqual(
      [labelObject(failed[0]!)['source_workload'], labelObject(failed[0]!)['destination_workload'], labelObject(failed[0]!)['response_flags']],
      ['raw', 'echo-v1', 'CONNECT'],
    );
    // The access log is written in 10 ms batches to a pipe the test reads: it may trail the metric.
    const errorLines = (): string[] => (sidecar!.output() as string).split('\n').filter((l) => l.includes('\terror\taccess\t') && l.includes('istio-peer-exchange with'));
    await eventually(() => errorLines().length >= 2, 15_000, 'two access-log error lines');
    const lines = errorLines();
    assert.equal(lines.length, 2);
    const deadline = DEFAULT_EXCHANGE_TIMEOUT_MS;
    assert.ok(lines.some((l) => l.endsWith(`timed out after ${deadline} ms: the peer announced 100 bytes of metadata and sent 10; connection closed"`)), lines.join('\n'));
    assert.ok(lines.some((l) => l.endsWith(`timed out after ${deadline} ms: the peer sent 4 of the 8 header bytes; connection closed"`)), lines.join('\n'));
  } catch (err) {
    process.stderr.write(sidecar?.output() ?? '');
    throw err;
  } finally {
    await sidecar?.stop();
    await echo.close();
    await mesh.stop();
  }
});
