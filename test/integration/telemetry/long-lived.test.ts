// A connection kept open for ~5 reporting intervals (1 s): its byte counters advance while it is open,
// and the totals are exact after close. Also: standard process metrics on the same endpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { eventually } from '../../support/mesh.js';
import { select, total } from '../../support/prometheus-text.js';
import { scrape, sizedRequest, startEchoMesh } from './telemetry-mesh.js';

const INTERVAL_MS = 1000;
const CHUNK = 777;
const CHUNKS = 6;
const REPLY = 4321;

test('long-lived connection with --tcp-reporting-duration 1s: counters advance every interval while open; exact at close', { timeout: 120_000 }, async () => {
  const env = await startEchoMesh({ reportingDuration: '1s' });
  let socket: Socket | undefined;
  try {
    const { mesh, listen } = env;
    let replied = 0;
    const closed = new Promise<void>((resolve, reject) => {
      socket = connect({ host: listen.listenAddress, port: listen.listenPort, allowHalfOpen: true });
      socket.on('data', (c: Buffer) => (replied += c.length));
      socket.on('error', reject);
      socket.on('close', () => resolve());
    });
    await new Promise<void>((resolve, reject) => {
      socket!.once('connect', resolve);
      socket!.once('error', reject);
    });
    // The first chunk carries the reply-size header; every chunk is CHUNK bytes.
    const first = sizedRequest(CHUNK, REPLY);
    const samples: Array<{ src: number; dst: number }> = [];
    for (let i = 0; i < CHUNKS; i++) {
      socket!.write(i === 0 ? first : Buffer.alloc(CHUNK, 0x61));
      // The connection stays open, so only the 1 s reporting interval can bring the bytes to /metrics.
      // Wait for them (a loaded box may flush late), then keep what was seen for the exact check below.
      const want = CHUNK * (i + 1);
      let seen = { src: -1, dst: -1 };
      await eventually(async () => {
        seen = {
          src: total(await scrape(mesh, 1), 'istio_tcp_received_bytes_total', { reporter: 'source' }),
          dst: total(await scrape(mesh, 2), 'istio_tcp_received_bytes_total', { reporter: 'destination' }),
        };
        return seen.src === want && seen.dst === want;
      }, 20 * INTERVAL_MS, `received_bytes ${want} on both proxies while the connection is open`).catch(() => undefined);
      samples.push(seen);
    }
    // Every sample sees exactly the bytes written so far: flushed by the interval, not at close.
    assert.deepEqual(
      samples.map((s) => s.src),
      samples.map((_, i) => CHUNK * (i + 1)),
      'source received_bytes advanced each interval',
    );
    assert.deepEqual(
      samples.map((s) => s.dst),
      samples.map((_, i) => CHUNK * (i + 1)),
      'destination received_bytes advanced each interval',
    );
    const open1 = await scrape(mesh, 1);
    assert.equal(total(open1, 'istio_tcp_connections_opened_total', { reporter: 'source' }), 1);
    assert.equal(select(open1, 'istio_tcp_connections_closed_total').length, 0, 'not closed while open');

    socket!.end();
    await closed;
    assert.equal(replied, REPLY);
    for (const [node, reporter] of [[1, 'source'], [2, 'destination']] as const) {
      let s = await scrape(mesh, node);
      for (let i = 0; i < 50 && total(s, 'istio_tcp_connections_closed_total', { reporter }) !== 1; i++) {
        await new Promise((r) => setTimeout(r, 100));
        s = await scrape(mesh, node);
      }
      assert.equal(total(s, 'istio_tcp_connections_closed_total', { reporter }), 1);
      assert.equal(total(s, 'istio_tcp_received_bytes_total', { reporter }), CHUNK * CHUNKS);
      assert.equal(total(s, 'istio_tcp_sent_bytes_total', { reporter }), REPLY);
    }

    // Standard process metrics on the node proxy's /metrics.
    const names = new Set((await scrape(mesh, 1)).map((x) => x.name));
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'process_open_fds']) {
      assert.ok(names.has(name), `${name} on node-1 /metrics`);
    }
  } finally {
    socket?.destroy();
    await env.stop();
  }
});
