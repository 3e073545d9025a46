// A real Prometheus (Debian's package, installed by `npm test`'s setup, else the test skips) finds every node proxy
// through the control plane's /debug/prometheus_sd (HTTP SD, __metrics_path__ honoured), scrapes every
// 1 s, and answers /api/v1/query with the istio_tcp_* series and values the traffic produced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../support/mesh.js';
import { findPrometheus, startPrometheus, type TestPrometheus } from '../../support/prometheus.js';
import { exchange, sizedRequest, startEchoMesh } from './telemetry-mesh.js';

interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(base: string, promql: string): Promise<VectorResult[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data: { result: VectorResult[] } };
  if (body.status !== 'success') throw new Error(`query ${promql} failed: ${JSON.stringify(body)}`);
  return body.data.result;
}

test('real Prometheus: HTTP SD from the control plane, 1 s scrapes, istio_tcp_* series with labels and values', { timeout: 400_000 }, async (t) => {
  const prom = findPrometheus();
  if ('skip' in prom) {
    t.skip(prom.skip);
    return;
  }
  const env = await startEchoMesh({ reportingDuration: '1s' });
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-prometheus-'));
  let prometheus: TestPrometheus | undefined;
  try {
    const { mesh, listen } = env;
    const sizes = [[300, 700], [1200, 50], [4096, 8192]] as const;
    for (const [a, b] of sizes) assert.equal(await exchange(listen.listenAddress, listen.listenPort, sizedRequest(a, b)), b);
    const sumA = sizes.reduce((n, [a]) => n + a, 0);
    const sumB = sizes.reduce((n, [, b]) => n + b, 0);

    const sd = `http://127.${mesh.base}.0.254:15014/debug/prometheus_sd`;
    const targets = (await (await fetch(sd)).json()) as Array<{ targets: string[]; labels: Record<string, string> }>;
    const proxyTargets = targets.filter((g) => g.labels['role'] === 'ztunnel').flatMap((g) => g.targets).sort();
    assert.deepEqual(proxyTargets, [`127.${mesh.base}.0.1:15020`, `127.${mesh.base}.0.2:15020`]);

    prometheus = await startPrometheus(prom.path, dir, `127.${mesh.base}.0.250:9090`, sd);
    const base = prometheus.url;

    // Every proxy target is up and scraped at /stats/prometheus (the SD's __metrics_path__).
    await eventually(async () => {
      const body = (await (await fetch(`${base}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ scrapeUrl: string; health: string; labels: Record<string, string> }> } };
      const proxies = body.data.activeTargets.filter((x) => x.labels['role'] === 'ztunnel');
      return proxies.length === 2 && proxies.every((x) => x.health === 'up' && x.scrapeUrl.endsWith(':15020/stats/prometheus'));
    }, 30_000, 'both node proxies scraped and up');

    const opened = await eventually(async () => {
      const r = await query(base, 'istio_tcp_connections_opened_total');
      return r.length === 2 ? r : undefined;
    }, 30_000, 'istio_tcp_connections_opened_total from both proxies');
    for (const r of opened) {
      assert.equal(Number(r.value[1]), sizes.length);
      assert.equal(r.metric['source_workload'], 'sleep');
      assert.equal(r.metric['destination_workload'], 'echo-v1');
      assert.equal(r.metric['destination_service'], 'echo.default.svc.cluster.local');
      assert.equal(r.metric['source_principal'], 'spiffe://cluster.local/ns/default/sa/sleep');
      assert.equal(r.metric['job'], 'l4mesh');
    }
    assert.deepEqual(opened.map((r) => r.metric['reporter']).sort(), ['destination', 'source']);
    const dst = opened.find((r) => r.metric['reporter'] === 'destination')!;
    assert.equal(dst.metric['connection_security_policy'], 'mutual_tls');
    assert.equal(dst.metric['instance'], `127.${mesh.base}.0.2:15020`);

    const sent = await query(base, 'istio_tcp_sent_bytes_total');
    assert.deepEqual(sent.map((r) => [r.metric['reporter'], Number(r.value[1])]).sort(), [['destination', sumB], ['source', sumB]]);
    const received = await query(base, 'sum by (reporter) (istio_tcp_received_bytes_total)');
    assert.deepEqual(received.map((r) => [r.metric['reporter'], Number(r.value[1])]).sort(), [['destination', sumA], ['source', sumA]]);
  } finally {
    await prometheus?.stop();
    await env.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
