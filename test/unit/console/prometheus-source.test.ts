// The console's graph from Prometheus (PromQL rate() through /api/v1/query and query_range) against a fake
// Prometheus on loopback answering fixed JSON: the same nodes, edges and rates as the graph the console
// computes from its own scrapes of the same counters, the exact queries it sends, and a clear error when
// Prometheus refuses.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { buildGraph, windowOf, type Scrape } from '../../../src/console/graph.js';
import { PrometheusSource } from '../../../src/console/prometheus-source.js';
import { parsePrometheusText } from '../../../src/console/prometheus-text.js';
import { edgeSeriesFrom, graphFrom, nodeSeriesFrom } from '../../../src/console/traffic-source.js';
import { L4meshError } from '../../../src/errors/index.js';

const R2 = 'source_workload="ratings-v2",source_workload_namespace="default",source_app="ratings",source_version="v2",source_principal="spiffe://cluster.local/ns/default/sa/bookinfo-ratings"';
const PG = 'destination_service="postgres.default.svc.cluster.local",destination_service_namespace="default",destination_service_name="postgres",destination_workload="postgres-v1",destination_workload_namespace="default",destination_app="postgres",destination_version="v1"';
const series = (reporter: string, security: string) => `{reporter="${reporter}",${R2},${PG},request_protocol="tcp",response_flags="-",connection_security_policy="${security}"}`;
const SRC = series('source', 'unknown');
const DST = series('destination', 'mutual_tls');
const NODE1 = '127.0.10.1:15020';
const NODE2 = '127.0.10.2:15020';

/** The same counters twice, 10 s apart, as the console's own scrapes of node-1 (source) and node-2 (destination) see them. */
const BEFORE: Array<[string, string, string, number]> = [
  [NODE1, 'istio_tcp_received_bytes_total', SRC, 1000],
  [NODE1, 'istio_tcp_sent_bytes_total', SRC, 5000],
  [NODE1, 'istio_tcp_connections_opened_total', SRC, 4],
  [NODE1, 'istio_tcp_connections_closed_total', SRC, 2],
  [NODE2, 'istio_tcp_received_bytes_total', DST, 990],
  [NODE2, 'istio_tcp_connections_opened_total', DST, 4],
];
const AFTER: Array<[string, string, string, number]> = [
  [NODE1, 'istio_tcp_received_bytes_total', SRC, 21000],
  [NODE1, 'istio_tcp_sent_bytes_total', SRC, 45000],
  [NODE1, 'istio_tcp_connections_opened_total', SRC, 9],
  [NODE1, 'istio_tcp_connections_closed_total', SRC, 6],
  [NODE2, 'istio_tcp_received_bytes_total', DST, 30990],
  [NODE2, 'istio_tcp_connections_opened_total', DST, 9],
];
const WINDOW_S = 10;
const NOW_MS = 1_700_000_011_000;

function scrape(at: number, rows: typeof BEFORE): Scrape {
  return { at, samples: rows.flatMap(([instance, name, labels, v]) => parsePrometheusText(`${name}${labels} ${v}`).map((s) => ({ ...s, instance }))) };
}

/** The Prometheus JSON for one series: its labels as Prometheus stores them (plus instance and job). */
function promMetric(instance: string, labels: string): Record<string, string> {
  return { ...Object.fromEntries(parsePrometheusText(`m${labels} 0`)[0]!.labels), instance, job: 'l4mesh' };
}

/** A fake Prometheus: rate(M[10000ms]) = (after − before) / 10 per series, M = the after value; records every query. */
async function fakePrometheus(answer: 'ok' | 'refuse'): Promise<{ server: Server; url: string; queries: Array<Record<string, string>> }> {
  const queries: Array<Record<string, string>> = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const params = Object.fromEntries(url.searchParams);
    queries.push({ path: url.pathname, ...params });
    if (answer === 'refuse') {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' }));
      return;
    }
    const q = params['query']!;
    const m = /^rate\((\w+)\[(\d+)ms\]\)$/.exec(q);
    const name = m ? m[1]! : q;
    const result = AFTER.filter(([, n]) => n === name).map(([instance, , labels, after]) => {
      const before = BEFORE.find(([i, n, l]) => i === instance && n === name && l === labels)![3];
      const v = m ? (after - before) / WINDOW_S : after;
      const metric = m ? promMetric(instance, labels) : { __name__: name, ...promMetric(instance, labels) };
      if (url.pathname === '/api/v1/query') return { metric, value: [Number(params['time']), String(v)] };
      // query_range: two steps with the same rate.
      const end = Number(params['end']);
      const step = Number(params['step']);
      return { metric, values: [[end - step, String(v)], [end, String(v)]] };
    });
    const resultType = url.pathname === '/api/v1/query' ? 'vector' : 'matrix';
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType, result } }));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, queries };
}

test('Prometheus and the console\'s own scrapes give the same graph for the same counters', async () => {
  const fake = await fakePrometheus('ok');
  try {
    const fromProm = await graphFrom(new PrometheusSource(fake.url, () => NOW_MS), WINDOW_S, undefined);
    const w = windowOf(scrape(NOW_MS - WINDOW_S * 1000, BEFORE), scrape(NOW_MS, AFTER));
    const fromScrapes = buildGraph(w.series, w.seconds);
    assert.deepEqual({ ...fromProm, from: undefined, to: undefined }, { ...fromScrapes, from: undefined, to: undefined });
    assert.deepEqual([fromProm.from, fromProm.to, fromProm.seconds], [NOW_MS - 10_000, NOW_MS, 10]);
    assert.deepEqual(
      fromProm.edges.map((e) => [e.id, e.reporter, e.mtls, e.bytesSentPerSec, e.bytesReceivedPerSec, e.connectionsOpenedPerSec, e.connectionsClosedPerSec, e.activeConnections]),
      [
        ['svc:default/postgres->wl:default/postgres-v1', 'source', true, 2000, 4000, 0.5, 0.4, 3],
        ['wl:default/ratings-v2->svc:default/postgres', 'source', true, 2000, 4000, 0.5, 0.4, 3],
      ],
    );
    assert.deepEqual(
      fromProm.nodes.map((n) => n.id),
      ['app:default/postgres', 'app:default/ratings', 'ns:default', 'svc:default/postgres', 'wl:default/postgres-v1', 'wl:default/ratings-v2'],
    );
    // One rate() per graph metric and the opened/closed counters' values, all at the same instant.
    assert.deepEqual(
      fake.queries.map((q) => [q['path'], q['query'], q['time']]).sort(),
      [
        ['/api/v1/query', 'istio_tcp_connections_closed_total', '1700000011'],
        ['/api/v1/query', 'istio_tcp_connections_opened_total', '1700000011'],
        ['/api/v1/query', 'rate(istio_requests_total[10000ms])', '1700000011'],
        ['/api/v1/query', 'rate(istio_tcp_connections_closed_total[10000ms])', '1700000011'],
        ['/api/v1/query', 'rate(istio_tcp_connections_failed_total[10000ms])', '1700000011'],
        ['/api/v1/query', 'rate(istio_tcp_connections_opened_total[10000ms])', '1700000011'],
        ['/api/v1/query', 'rate(istio_tcp_received_bytes_total[10000ms])', '1700000011'],
        ['/api/v1/query', 'rate(istio_tcp_sent_bytes_total[10000ms])', '1700000011'],
      ],
    );
  } finally {
    fake.server.close();
  }
});

test('an edge\'s and a node\'s chart from query_range: one point per step, rate() over four scrape intervals', async () => {
  const fake = await fakePrometheus('ok');
  try {
    const points = await edgeSeriesFrom(new PrometheusSource(fake.url, () => NOW_MS), 'wl:default/ratings-v2->svc:default/postgres', 300);
    assert.deepEqual(
      points.map((p) => [p.t, p.bytesSentPerSec, p.bytesReceivedPerSec, p.activeConnections]),
      [
        [1_700_000_006, 2000, 4000, 3],
        [1_700_000_011, 2000, 4000, 3],
      ],
    );
    const rate = fake.queries.find((q) => q['query'] === 'rate(istio_tcp_received_bytes_total[20000ms])')!;
    assert.deepEqual([rate['path'], rate['start'], rate['end'], rate['step']], ['/api/v1/query_range', '1699999711', '1700000011', '5']);
    // The destination reporter's own view of the same edge.
    const byDestination = await edgeSeriesFrom(new PrometheusSource(fake.url, () => NOW_MS), 'wl:default/ratings-v2->svc:default/postgres', 300, 'destination');
    assert.deepEqual(byDestination.map((p) => p.bytesSentPerSec), [3000, 3000]);
    // A node's chart sums its edges: the service is the server of one edge and the client of the next.
    const source = new PrometheusSource(fake.url, () => NOW_MS);
    assert.deepEqual(await nodeSeriesFrom(source, 'svc:default/postgres', 300), [
      { t: 1_700_000_006, inBytesPerSec: 2000, outBytesPerSec: 2000, inConnectionsOpenedPerSec: 0.5, outConnectionsOpenedPerSec: 0.5 },
      { t: 1_700_000_011, inBytesPerSec: 2000, outBytesPerSec: 2000, inConnectionsOpenedPerSec: 0.5, outConnectionsOpenedPerSec: 0.5 },
    ]);
    assert.deepEqual(
      (await nodeSeriesFrom(source, 'wl:default/ratings-v2', 300)).map((p) => [p.inBytesPerSec, p.outBytesPerSec]),
      [
        [0, 2000],
        [0, 2000],
      ],
    );
  } finally {
    fake.server.close();
  }
});

test('a query Prometheus refuses is an L4MESH_ERR_PROMETHEUS naming the query and Prometheus\' reason', async () => {
  const fake = await fakePrometheus('refuse');
  try {
    await assert.rejects(new PrometheusSource(fake.url, () => NOW_MS).span(60), (err: unknown) => {
      assert.ok(err instanceof L4meshError);
      assert.equal(err.code, 'L4MESH_ERR_PROMETHEUS');
      assert.match(err.message, new RegExp(`^Prometheus at ${fake.url} refused \\S+: parse error$`));
      return true;
    });
  } finally {
    fake.server.close();
  }
  // Nothing listening: it says where it looked and what to check.
  await assert.rejects(new PrometheusSource(fake.url).span(60), /did not answer \/api\/v1\/query .*is it running\? \(l4mesh dashboard prometheus, or check --prometheus\)/);
});
