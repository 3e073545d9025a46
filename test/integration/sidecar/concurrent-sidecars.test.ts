// Sidecars the way they are used: 100 connections at once through client sidecar → server sidecar →
// workload, each echoed byte-exact in both directions (1 KiB–2 MiB, sha256), one reader pausing for 2 s
// among them; then the server sidecar killed in the middle of a transfer: the client's connection ends
// within seconds instead of hanging, and a restarted sidecar serves again (a full handshake: the ticket
// the client holds belongs to the dead process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { eventually, startMesh } from '../../support/mesh.js';
import { select } from '../../support/prometheus-text.js';
import { roundTrip, startNamedEcho } from '../../support/workloads.js';
import { ECHO_PORT, outboundListener, pod, scrapeAt, service, SIDECAR_LABEL, startSidecar } from './sidecar-mesh.js';

const KiB = 1024;
const CONCURRENT = 100;
const SLOW_READER_PAUSE_MS = 2_000;
/** Whole echoes must be back by then on a loaded 2-core box; a deadlock never finishes. */
const ECHO_DEADLINE_MS = 120_000;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('100 concurrent byte-exact echoes through two sidecars with a slow reader; a sidecar killed mid-transfer ends the connection', { timeout: 300_000 }, async (t) => {
  const mesh = await startMesh({ nodes: 2, reportingDuration: '1s' });
  const serverIp = mesh.podIp(30);
  const clientIp = mesh.podIp(31);
  const echoServer = await startNamedEcho(serverIp, ECHO_PORT, 'bulk-v1');
  let server: Awaited<ReturnType<typeof startSidecar>> | undefined;
  let client: Awaited<ReturnType<typeof startSidecar>> | undefined;
  try {
    await mesh.apply(
      service('bulk', 'bulk') +
        pod({ name: 'bulk-v1-abcde', workload: 'bulk-v1', ip: serverIp, node: 2, labels: { app: 'bulk', version: 'v1', ...SIDECAR_LABEL }, serviceAccount: 'bulk' }) +
        pod({ name: 'loader-abcde', workload: 'loader', ip: clientIp, node: 1, labels: { app: 'loader', version: 'v1', ...SIDECAR_LABEL }, serviceAccount: 'loader' }),
    );
    server = await startSidecar(mesh, { name: 'bulk-v1-abcde', ip: serverIp, node: 2, block: 8 });
    client = await startSidecar(mesh, { name: 'loader-abcde', ip: clientIp, node: 1, block: 9 });
    const listen = await outboundListener(clientIp, 'loader-abcde', 'bulk.default.svc.cluster.local');

    await t.test(`${CONCURRENT} at once, 1 KiB–2 MiB each, one reader paused ${SLOW_READER_PAUSE_MS} ms`, async () => {
      const payloads = Array.from({ length: CONCURRENT }, (_, i) => randomBytes(KiB * (1 + ((i * 331) % 2048))));
      const results = await Promise.all(payloads.map((p, i) => roundTrip(listen.address, listen.port, p, ECHO_DEADLINE_MS, i === 0 ? SLOW_READER_PAUSE_MS : 0)));
      const wrong = results.flatMap((got, i) => {
        const want = Buffer.concat([Buffer.from('bulk-v1\n'), payloads[i]!]);
        return got.length === want.length && sha(got) === sha(want) ? [] : [`#${i}: ${got.length} of ${want.length} bytes`];
      });
      assert.deepEqual(wrong, []);
      assert.equal(echoServer.accepted, CONCURRENT);
      // Both sidecars counted every connection and every byte, once.
      const bytes = payloads.reduce((n, p) => n + p.length, 0);
      for (const [ip, reporter] of [
        [clientIp, 'source'],
        [serverIp, 'destination'],
      ] as const) {
        await eventually(async () => {
          const samples = await scrapeAt(ip);
          const sum = (name: string) => select(samples, name, { reporter }).reduce((n, s) => n + s.value, 0);
          return sum('istio_tcp_connections_closed_total') === CONCURRENT && sum('istio_tcp_received_bytes_total') === bytes ? true : undefined;
        }, 15_000, `${reporter} sidecar's counts: ${CONCURRENT} closed, ${bytes} bytes received`);
      }
    });

    await t.test('the server sidecar killed mid-transfer: the client connection ends within 10 s; a restarted one serves again', async () => {
      const socket = connect({ host: listen.address, port: listen.port, allowHalfOpen: true });
      let received = 0;
      socket.on('data', (c: Buffer) => (received += c.length));
      const ended = new Promise<string>((resolve) => {
        socket.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
        socket.on('close', () => resolve('close'));
      });
      // Keep writing until bytes are flowing back, then kill the server sidecar with data in flight.
      const block = randomBytes(64 * KiB);
      const writer = setInterval(() => socket.writable && socket.write(block), 5);
      try {
        await eventually(() => (received > 256 * KiB ? true : undefined), 15_000, 'bytes flowing through both sidecars');
        server!.proc.kill('SIGKILL');
        const outcome = await Promise.race([ended, new Promise<string>((r) => setTimeout(() => r('still open after 10 s'), 10_000))]);
        assert.notEqual(outcome, 'still open after 10 s');
      } finally {
        clearInterval(writer);
        socket.destroy();
      }
      await server!.stop();
      server = await startSidecar(mesh, { name: 'bulk-v1-abcde', ip: serverIp, node: 2, block: 8 });
      const payload = randomBytes(300 * KiB);
      assert.deepEqual(await roundTrip(listen.address, listen.port, payload, 20_000), Buffer.concat([Buffer.from('bulk-v1\n'), payload]));
    });
  } finally {
    await client?.stop();
    await server?.stop();
    await echoServer.close();
    await mesh.stop();
  }
});
