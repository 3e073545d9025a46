// The console's graph builder from fixed istio_tcp_* / istio_requests_total scrapes: exact nodes, edges and rates.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildGraph, onlyLive, windowOf, type Scrape } from '../../../src/console/graph.js';
import { parsePrometheusText } from '../../../src/console/prometheus-text.js';

function side(prefix: 'source' | 'destination', ns: string, workload: string, app: string, version: string): string {
  return [
    `${prefix}_workload="${workload}"`,
    `${prefix}_canonical_service="${app}"`,
    `${prefix}_canonical_revision="${version}"`,
    `${prefix}_workload_namespace="${ns}"`,
    `${prefix}_principal="spiffe://cluster.local/ns/${ns}/sa/bookinfo-${app}"`,
    `${prefix}_app="${app}"`,
    `${prefix}_version="${version}"`,
  ].join(',');
}

const R2 = side('source', 'default', 'ratings-v2', 'ratings', 'v2');
const PG = `destination_service="postgres.default.svc.cluster.local",destination_service_namespace="default",destination_service_name="postgres",${side('destination', 'default', 'postgres-v1', 'postgres', 'v1')}`;
const tcp = (reporter: string, security: string, flags = '-') => `{reporter="${reporter}",${R2},${PG},request_protocol="tcp",response_flags="${flags}",connection_security_policy="${security}"}`;

function scrape(at: number, instance: string, text: string): Scrape {
  return { at, samples: parsePrometheusText(text).map((s) => ({ ...s, instance })) };
}

function merge(a: Scrape, b: Scrape): Scrape {
  return { at: Math.max(a.at, b.at), samples: [...a.samples, ...b.samples] };
}

const NODE1 = '127.0.10.1:15020';
const NODE2 = '127.0.10.2:15020';

test('ratings-v2 → postgres: bytes/s from the source reporter, mTLS from the destination reporter, active = opened − closed', () => {
  const before = merge(
    scrape(1_000, NODE1, [`istio_tcp_received_bytes_total${tcp('source', 'unknown')} 1000`, `istio_tcp_sent_bytes_total${tcp('source', 'unknown')} 5000`, `istio_tcp_connections_opened_total${tcp('source', 'unknown')} 4`, `istio_tcp_connections_closed_total${tcp('source', 'unknown')} 2`].join('\n')),
    scrape(1_000, NODE2, [`istio_tcp_received_bytes_total${tcp('destination', 'mutual_tls')} 990`, `istio_tcp_connections_opened_total${tcp('destination', 'mutual_tls')} 4`].join('\n')),
  );
  const after = merge(
    scrape(11_000, NODE1, [`istio_tcp_received_bytes_total${tcp('source', 'unknown')} 21000`, `istio_tcp_sent_bytes_total${tcp('source', 'unknown')} 45000`, `istio_tcp_connections_opened_total${tcp('source', 'unknown')} 9`, `istio_tcp_connections_closed_total${tcp('source', 'unknown')} 6`].join('\n')),
    scrape(11_000, NODE2, [`istio_tcp_received_bytes_total${tcp('destination', 'mutual_tls')} 30990`, `istio_tcp_connections_opened_total${tcp('destination', 'mutual_tls')} 9`].join('\n')),
  );
  const w = windowOf(before, after);
  assert.equal(w.seconds, 10);
  const g = buildGraph(w.series, w.seconds);
  assert.deepEqual(
    g.nodes.map((n) => [n.id, n.kind, n.label, n.parent ?? null, n.version ?? null]),
    [
      ['app:default/postgres', 'app', 'postgres', 'ns:default', null],
      ['app:default/ratings', 'app', 'ratings', 'ns:default', null],
      ['ns:default', 'namespace', 'default', null, null],
      ['svc:default/postgres', 'service', 'postgres', 'ns:default', null],
      ['wl:default/postgres-v1', 'workload', 'postgres-v1', 'app:default/postgres', 'v1'],
      ['wl:default/ratings-v2', 'workload', 'ratings-v2', 'app:default/ratings', 'v2'],
    ],
  );
  assert.deepEqual(
    g.edges.map((e) => e.id),
    ['svc:default/postgres->wl:default/postgres-v1', 'wl:default/ratings-v2->svc:default/postgres'],
  );
  for (const e of g.edges) {
    // Source reporter: (21000-1000)/10 s, not the destination's (30990-990)/10.
    assert.deepEqual(
      { ...e, id: undefined, source: undefined, target: undefined },
      {
        id: undefined,
        source: undefined,
        target: undefined,
        protocol: 'tcp',
        reporter: 'source',
        mtls: true,
        flags: [],
        idle: false,
        bytesSentPerSec: 2000,
        bytesReceivedPerSec: 4000,
        connectionsOpenedPerSec: 0.5,
        connectionsClosedPerSec: 0.4,
        connectionsFailedPerSec: 0,
        activeConnections: 3,
        requestsPerSec: 0,
        errorPercent: 0,
      },
    );
  }
});

test('a series new in the second scrape counts from 0; a counter that dropped was reset and counts from 0', () => {
  const before = scrape(0, NODE1, `istio_tcp_received_bytes_total${tcp('destination', 'mutual_tls')} 50000`);
  const after = scrape(
    5_000,
    NODE1,
    [`istio_tcp_received_bytes_total${tcp('destination', 'mutual_tls')} 700`, `istio_tcp_received_bytes_total${tcp('destination', 'none')} 300`].join('\n'),
  );
  const w = windowOf(before, after);
  assert.deepEqual(
    w.series.map((s) => [s.labels['connection_security_policy'], s.increase, s.last]),
    [
      ['mutual_tls', 700, 700],
      ['none', 300, 300],
    ],
  );
  const e = buildGraph(w.series, w.seconds).edges.find((x) => x.id === 'wl:default/ratings-v2->svc:default/postgres')!;
  assert.equal(e.reporter, 'destination');
  assert.equal(e.bytesSentPerSec, 200);
  // One plaintext series among the destination's: no lock.
  assert.equal(e.mtls, false);
});

test('an edge with no increase in the window is idle; a denied connection shows its flag; unknown sources get one node', () => {
  const denied = `{reporter="destination",source_workload="unknown",source_workload_namespace="unknown",${PG},response_flags="DENY",connection_security_policy="mutual_tls"}`;
  const before = scrape(0, NODE2, [`istio_tcp_received_bytes_total${tcp('source', 'unknown')} 10`, `istio_tcp_connections_failed_total${denied} 1`].join('\n'));
  const after = scrape(4_000, NODE2, [`istio_tcp_received_bytes_total${tcp('source', 'unknown')} 10`, `istio_tcp_connections_failed_total${denied} 3`].join('\n'));
  const w = windowOf(before, after);
  const g = buildGraph(w.series, w.seconds);
  const byId = new Map(g.edges.map((e) => [e.id, e]));
  assert.deepEqual([...byId.keys()], ['svc:default/postgres->wl:default/postgres-v1', 'unknown->svc:default/postgres', 'wl:default/ratings-v2->svc:default/postgres']);
  assert.equal(byId.get('wl:default/ratings-v2->svc:default/postgres')!.idle, true);
  const u = byId.get('unknown->svc:default/postgres')!;
  assert.deepEqual([u.idle, u.flags, u.connectionsFailedPerSec, u.mtls], [false, ['DENY'], 0.5, true]);
  assert.deepEqual(g.nodes.find((n) => n.id === 'unknown'), { id: 'unknown', kind: 'unknown', label: 'unknown' });
});

test('HTTP through a waypoint: req/s and the 4xx/5xx share from istio_requests_total', () => {
  const req = (code: number) =>
    `istio_requests_total{reporter="waypoint",${side('source', 'default', 'productpage-v1', 'productpage', 'v1')},destination_service="reviews.default.svc.cluster.local",destination_service_namespace="default",destination_service_name="reviews",${side('destination', 'default', 'reviews-v2', 'reviews', 'v2')},request_protocol="http",response_code="${code}",response_flags="-",connection_security_policy="mutual_tls"}`;
  const before = scrape(0, '127.0.10.9:15020', [`${req(200)} 100`, `${req(503)} 0`].join('\n'));
  const after = scrape(2_000, '127.0.10.9:15020', [`${req(200)} 118`, `${req(503)} 2`].join('\n'));
  const w = windowOf(before, after);
  const e = buildGraph(w.series, w.seconds).edges.find((x) => x.id === 'wl:default/productpage-v1->svc:default/reviews')!;
  assert.deepEqual([e.protocol, e.requestsPerSec, e.errorPercent, e.reporter, e.bytesSentPerSec], ['http', 10, 10, 'waypoint', 0]);
});

test('onlyLive drops a deleted workload, its edges and its emptied app box, and keeps the rest', () => {
  const before = scrape(0, NODE1, `istio_tcp_received_bytes_total${tcp('source', 'unknown')} 0`);
  const after = scrape(1_000, NODE1, `istio_tcp_received_bytes_total${tcp('source', 'unknown')} 100`);
  const w = windowOf(before, after);
  const g = onlyLive(buildGraph(w.series, w.seconds), new Set(['default/postgres-v1']));
  assert.deepEqual(
    g.nodes.map((n) => n.id),
    ['app:default/postgres', 'ns:default', 'svc:default/postgres', 'wl:default/postgres-v1'],
  );
  assert.deepEqual(
    g.edges.map((e) => [e.id, e.bytesSentPerSec]),
    [['svc:default/postgres->wl:default/postgres-v1', 100]],
  );
});

test('through a waypoint (no destination-reported series from the source) the lock comes from the SPIFFE peer the source proxy verified', () => {
  const viaWaypoint = (principal: string) =>
    `{reporter="source",${R2},destination_service="postgres.default.svc.cluster.local",destination_service_namespace="default",destination_service_name="postgres",destination_workload="waypoint",destination_workload_namespace="default",destination_principal="${principal}",response_flags="-",connection_security_policy="unknown"}`;
  for (const [principal, mtls] of [['spiffe://cluster.local/ns/default/sa/waypoint', true], ['unknown', false]] as const) {
    const w = windowOf(scrape(0, NODE1, `istio_tcp_received_bytes_total${viaWaypoint(principal)} 0`), scrape(1_000, NODE1, `istio_tcp_received_bytes_total${viaWaypoint(principal)} 50`));
    const e = buildGraph(w.series, w.seconds).edges.find((x) => x.id === 'wl:default/ratings-v2->svc:default/postgres')!;
    assert.deepEqual([e.reporter, e.mtls, e.bytesSentPerSec], ['source', mtls, 50], principal);
  }
});
