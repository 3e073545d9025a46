// A raw mesh-TLS client against a sidecar's :15006: without ALPN, with the ALPN but no magic, with a
// truncated payload, the bytes pass through untouched and the source comes from the registry by IP;
// a length of 0xFFFFFFFF closes the connection. Exact envoy_metadata_exchange_* counters on :15020.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { connect } from 'node:tls';
import { MX_HEADER_BYTES, MX_MAGIC } from '../../../src/dataplane/mx/codec.js';
import { MX_ALPN } from '../../../src/dataplane/mx/handshake.js';
import type { WorkloadCertificate } from '../../../src/identity/workload-certificate.js';
import { sidecarServerName } from '../../../src/dataplane/tls/sidecar-server-name.js';
import { eventually, startMesh } from '../../support/mesh.js';
import { select, total } from '../../support/prometheus-text.js';
import { startNamedEcho } from '../../support/workloads.js';
import { ECHO_PORT, labelObject, meshCertificate, pod, scrapeAt, service, SIDECAR_LABEL, startSidecar } from './sidecar-mesh.js';

interface RawResult {
  alpn: string | false;
  received: Buffer;
  /** 'end' when a FIN arrived; 'error' on a reset; 'close' when the socket closed with neither. */
  ending: 'end' | 'close' | 'error';
}

/**
 * One raw TLS connection from `localAddress`: writes `payload`, half-closes, collects everything until close.
 * With `afterServerFrame`, the payload goes out only once the sidecar's own metadata frame has arrived, and
 * without a half-close: a close_notify still unread when the sidecar closes would turn its FIN into a reset.
 */
function rawExchange(cert: WorkloadCertificate, host: string, localAddress: string, payload: Buffer, alpn: string[] | undefined, afterServerFrame = false): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ending: RawResult['ending'] = 'close';
    // From the raw pod's IP, so the sidecar's registry lookup by address finds that pod.
    const tcp = netConnect({ host, port: 15006, localAddress });
    const socket = connect({
      socket: tcp,
      servername: sidecarServerName('echo.default.svc.cluster.local', ECHO_PORT),
      key: cert.keyPem,
      cert: cert.chainPem.join(''),
      ca: cert.rootPem,
      ...(alpn ? { ALPNProtocols: alpn } : {}),
      // The chain is verified against the mesh root; the name is a SPIFFE id, not a host name.
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close from the sidecar within 10 s (received ${Buffer.concat(chunks).length} bytes, alpn ${socket.alpnProtocol})`));
    }, 10_000);
    let sent = false;
    const send = () => {
      sent = true;
      if (afterServerFrame) socket.write(payload);
      else socket.end(payload);
    };
    socket.on('secureConnect', () => {
      if (!afterServerFrame) send();
    });
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const got = Buffer.concat(chunks);
      if (!sent && got.length >= MX_HEADER_BYTES && got.length >= MX_HEADER_BYTES + got.readUInt32BE(4)) send();
    });
    socket.on('end', () => (ending = 'end'));
    socket.on('error', () => (ending = 'error'));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ alpn: socket.alpnProtocol ?? false, received: Buffer.concat(chunks), ending });
    });
  });
}

/** The sidecar's own frame at the start of what it sent: checked, then cut off. */
function withoutServerFrame(received: Buffer): Buffer {
  assert.equal(received.readUInt32BE(0), MX_MAGIC, 'the sidecar writes its metadata frame first');
  return received.subarray(MX_HEADER_BYTES + received.readUInt32BE(4));
}

function header(length: number): Buffer {
  const h = Buffer.alloc(MX_HEADER_BYTES);
  h.writeUInt32BE(MX_MAGIC, 0);
  h.writeUInt32BE(length, 4);
  return h;
}

const MX_COUNTERS = ['alpn_protocol_found', 'alpn_protocol_not_found', 'initial_header_not_found', 'header_not_found', 'metadata_added'] as const;

async function counters(ip: string): Promise<Record<string, number>> {
  const samples = await scrapeAt(ip);
  return Object.fromEntries(MX_COUNTERS.map((c) => [c, total(samples, `envoy_metadata_exchange_${c}`)]));
}

test('fallbacks through a sidecar: no ALPN, wrong magic, truncated payload pass bytes through; 0xFFFFFFFF closes', { timeout: 120_000 }, async () => {
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

    // 1. A TLS client that offers no ALPN: nothing is exchanged, the bytes reach the workload as sent.
    const plain = Buffer.from('plain TLS, no ALPN\n');
    const r1 = await rawExchange(cert, serverIp, rawIp, plain, undefined);
    assert.equal(r1.alpn, false);
    assert.equal(r1.ending, 'end', 'the sidecar passes the FIN of the workload on');
    assert.deepEqual(r1.received, Buffer.concat([Buffer.from('echo-sc\n'), plain]));
    assert.deepEqual(await counters(serverIp), { alpn_protocol_found: 0, alpn_protocol_not_found: 1, initial_header_not_found: 0, header_not_found: 0, metadata_added: 0 });

    // 2. The ALPN, then application bytes instead of the magic: passed on untouched.
    const http = Buffer.from('GET / HTTP/1.1\r\nhost: echo\r\n\r\n');
    const r2 = await rawExchange(cert, serverIp, rawIp, http, [...MX_ALPN]);
    assert.equal(r2.alpn, 'istio-peer-exchange');
    assert.equal(r2.ending, 'end');
    assert.deepEqual(withoutServerFrame(r2.received), Buffer.concat([Buffer.from('echo-sc\n'), http]));
    assert.deepEqual(await counters(serverIp), { alpn_protocol_found: 1, alpn_protocol_not_found: 1, initial_header_not_found: 1, header_not_found: 0, metadata_added: 1 });

    // 3. Magic and a 100-byte length, then 10 bytes and a FIN: the 18 bytes reach the workload unchanged.
    const truncated = Buffer.concat([header(100), Buffer.from('0123456789')]);
    const r3 = await rawExchange(cert, serverIp, rawIp, truncated, [...MX_ALPN]);
    assert.equal(r3.ending, 'end');
    assert.deepEqual(withoutServerFrame(r3.received), Buffer.concat([Buffer.from('echo-sc\n'), truncated]));
    assert.deepEqual(await counters(serverIp), { alpn_protocol_found: 2, alpn_protocol_not_found: 1, initial_header_not_found: 1, header_not_found: 1, metadata_added: 2 });

    // 4. A length of 0xFFFFFFFF: a protocol error, the connection is closed and the workload never dialled.
    const accepted = echo.accepted;
    // The bad frame goes out after the sidecar's own frame has arrived, so that frame cannot still be queued
    // when the sidecar closes: exactly it arrives, then the close.
    const r4 = await rawExchange(cert, serverIp, rawIp, Buffer.concat([header(0xffffffff), Buffer.alloc(64, 1)]), [...MX_ALPN], true);
    assert.deepEqual(withoutServerFrame(r4.received), Buffer.alloc(0), 'closed with nothing from the workload');
    assert.equal(r4.ending, 'end', 'the sidecar closes with a FIN (it had read everything sent), not a reset');
    assert.equal(echo.accepted, accepted, 'no upstream connection for the oversized frame');
    assert.deepEqual(await counters(serverIp), { alpn_protocol_found: 3, alpn_protocol_not_found: 1, initial_header_not_found: 1, header_not_found: 2, metadata_added: 3 });

    // Without metadata the source is the registry's workload at the client's IP (version v7 from its pod).
    const samples = await eventually(async () => {
      const s = await scrapeAt(serverIp);
      return total(s, 'istio_tcp_connections_closed_total', { reporter: 'destination' }) === 3 ? s : undefined;
    }, 15_000, 'three closed connections');
    const opened = select(samples, 'istio_tcp_connections_opened_total', { reporter: 'destination' });
    assert.equal(opened.length, 1, 'one series: all three from the same source');
    const labels = labelObject(opened[0]!);
    assert.deepEqual(
      [labels['source_workload'], labels['source_version'], labels['source_principal'], labels['destination_workload'], labels['connection_security_policy']],
      ['raw', 'v7', 'spiffe://cluster.local/ns/default/sa/raw', 'echo-v1', 'mutual_tls'],
    );
    assert.equal(opened[0]!.value, 3);
    const failed = select(samples, 'istio_tcp_connections_failed_total', { reporter: 'destination' });
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.value, 1);
    assert.equal(labelObject(failed[0]!)['source_workload'], 'raw');
    assert.equal(labelObject(failed[0]!)['response_flags'], 'CONNECT');
  } catch (err) {
    process.stderr.write(sidecar?.output() ?? '');
    throw err;
  } finally {
    await sidecar?.stop();
    await echo.close();
    await mesh.stop();
  }
});
