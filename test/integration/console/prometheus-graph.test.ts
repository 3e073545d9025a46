// The console's two sources side by side on a real mesh: a real Prometheus (Debian's package, installed by
// `npm test`'s setup, else the test skips) scraping the node proxies through the control plane's SD every 1 s,
// and the console's own scrapes of the same proxies, while a client moves a steady stream of sized exchanges.
// Both give the same nodes and edges with the same reporter and lock, and bytes/s within 10 % of each other
// and of what the client moved. The console's /api/graph says which source it read: Prometheus when given
// one, its own scrapes (and why) when that Prometheus does not answer.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONTROL_PLANE_HTTP_PORT } from '../../../src/config/mesh-constants.js';
import { MetricsHistory } from '../../../src/console/metrics-history.js';
import { createConsoleServer } from '../../../src/console/server.js';
import { PrometheusSource } from '../../../src/console/prometheus-source.js';
import { graphFrom } from '../../../src/console/traffic-source.js';
import { findPrometheus, startPrometheus, type TestPrometheus } from '../../support/prometheus.js';
import { exchange, sizedRequest, startEchoMesh } from '../telemetry/telemetry-mesh.js';

/** One exchange every 250 ms: 4 connections/s, each closing (and counted) within the window. */
const EXCHANGE_INTERVAL_MS = 250;
const REQUEST_BYTES = 3_000;
const REPLY_BYTES = 500;
/** The graph's window: 20 scrapes of each source, so one exchange more or less at an edge moves the rate ~2.5 %. */
const WINDOW_S = 20;
/** Traffic runs this long before the comparison: the window must be full of it in both sources. */
const WARMUP_MS = (WINDOW_S + 8) * 1000;
const EDGE = 'wl:default/sleep->svc:default/echo';

const binary = findPrometheus();
const prometheusPath = 'path' in binary ? binary.path : '';

test('Prometheus and the console\'s own scrapes draw the same graph of the same traffic', { timeout: 400_000, skip: 'skip' in binary ? binary.skip : false }, async () => {
  const env = await startEchoMesh({ reportingDuration: '1s' });
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-console-prometheus-'));
  let promServer: TestPrometheus | undefined;
  let trafficOn = true;
  const controlPlane = `http://127.${env.mesh.base}.0.254:${CONTROL_PLANE_HTTP_PORT}`;
  const history = new MetricsHistory(controlPlane, 1_000);
  try {
    const sd = `${controlPlane}/debug/prometheus_sd`;
    promServer = await startPrometheus(prometheusPath, dir, `127.${env.mesh.base}.0.250:9090`, sd);
    const prometheus = promServer.url;
    history.start();

    let exchanges = 0;
    const traffic = (async () => {
      while (trafficOn) {
        assert.equal(await exchange(env.listen.listenAddress, env.listen.listenPort, sizedRequest(REQUEST_BYTES, REPLY_BYTES)), REPLY_BYTES);
        exchanges++;
        await new Promise((r) => setTimeout(r, EXCHANGE_INTERVAL_MS));
      }
    })();
    const started = Date.now();
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    // Both at once, over the same window ending now.
    const [fromProm, fromProxies] = await Promise.all([graphFrom(new PrometheusSource(prometheus), WINDOW_S, history.live), graphFrom(history, WINDOW_S, history.live)]);
    const clientRate = (exchanges * REQUEST_BYTES) / ((Date.now() - started) / 1000);
    trafficOn = false;
    await traffic;

    assert.deepEqual(fromProm.nodes, fromProxies.nodes);
    const shape = (g: typeof fromProm) => g.edges.map((e) => [e.id, e.protocol, e.reporter, e.mtls, e.flags, e.idle]);
    assert.deepEqual(shape(fromProm), shape(fromProxies));
    assert.deepEqual(shape(fromProm), [
      ['svc:default/echo->wl:default/echo-v1', 'tcp', 'source', true, [], false],
      [EDGE, 'tcp', 'source', true, [], false],
    ]);
    const p = fromProm.edges.find((e) => e.id === EDGE)!;
    const o = fromProxies.edges.find((e) => e.id === EDGE)!;
    process.stdout.write(`# sleep → echo over ${WINDOW_S} s: Prometheus ${p.bytesSentPerSec.toFixed(1)} B/s, console ${o.bytesSentPerSec.toFixed(1)} B/s (over ${fromProxies.seconds.toFixed(1)} s), client ${clientRate.toFixed(1)} B/s\n`);
    for (const [what, a, b] of [
      ['bytes sent', p.bytesSentPerSec, o.bytesSentPerSec],
      ['bytes received', p.bytesReceivedPerSec, o.bytesReceivedPerSec],
      ['connections opened', p.connectionsOpenedPerSec, o.connectionsOpenedPerSec],
    ] as const) {
      assert.ok(b > 0, `${what}: the console's own rate is 0`);
      assert.ok(Math.abs(a - b) <= 0.1 * b, `${what}: Prometheus ${a}/s vs console ${b}/s`);
    }
    assert.ok(Math.abs(o.bytesSentPerSec - clientRate) <= 0.15 * clientRate, `console ${o.bytesSentPerSec} B/s vs client ${clientRate} B/s`);
    // Replies are a sixth of the requests, in both sources.
    for (const e of [p, o]) assert.ok(Math.abs(e.bytesReceivedPerSec / e.bytesSentPerSec - REPLY_BYTES / REQUEST_BYTES) <= 0.02, `received/sent ${e.bytesReceivedPerSec}/${e.bytesSentPerSec}`);

    // The console's server reads Prometheus when given one, and falls back to its own scrapes, saying why, when it does not answer.
    for (const [url, source, error] of [
      [prometheus, 'prometheus', /^$/],
      [`http://127.${env.mesh.base}.0.251:9090`, 'proxies', /^Prometheus at http:\/\/127\.\d+\.0\.251:9090 did not answer \/api\/v1\/query .*showing the console's own scrapes$/],
    ] as const) {
      const server = createConsoleServer({ history, stateDir: dir, prometheus: url });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        const body = (await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/graph?window=${WINDOW_S}`)).json()) as { source: string; prometheus: string; error: string; edges: Array<{ id: string }> };
        assert.deepEqual([body.source, body.prometheus, body.edges.map((e) => e.id)], [source, url, ['svc:default/echo->wl:default/echo-v1', EDGE]]);
        assert.match(body.error, error);
      } finally {
        server.close();
      }
    }
  } finally {
    trafficOn = false;
    history.stop();
    await promServer?.stop();
    await env.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
