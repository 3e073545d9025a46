// L7 routing through a waypoint process, with real node proxies: subset routing (asserted from responses
// and istio_requests_total), an 80/20 split, header matches, a live route change, keep-alive, 503 for an
// empty subset, chunked bodies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Agent, request } from 'node:http';
import { eventually } from '../../support/mesh.js';
import { DESTINATION_RULE, get, startWaypointMesh, sumSeries, virtualService, waypointMetrics, type WaypointMesh } from './waypoint-fixture.js';

let wm: WaypointMesh;

before(async () => {
  wm = await startWaypointMesh();
});

after(async () => {
  await wm?.stop();
});

/** Applies a VirtualService and waits until the waypoint holds exactly that version of it. */
async function applyRoutes(yaml: string): Promise<void> {
  await wm.mesh.apply(yaml);
  const res = await wm.mesh.api('/apis/networking.istio.io/v1/namespaces/default/virtualservices/reviews');
  const version = ((await res.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  await eventually(async () => {
    const dump = (await (await fetch(`http://${wm.waypointIp}:15000/config_dump`)).json()) as { routes: { virtualServices: Array<{ metadata: { resourceVersion: string } }> } };
    return dump.routes.virtualServices.some((vs) => vs.metadata.resourceVersion === version);
  }, 5_000, `the waypoint to load VirtualService version ${version}`);
}

async function countVersions(n: number, headers?: Record<string, string>, concurrency = 4): Promise<Record<string, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const counts: Record<string, number> = {};
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          next++;
          const reply = await get(wm, '/reviews/1', { headers, agent });
          assert.equal(reply.status, 200, `status of a routed request: ${reply.body}`);
          counts[reply.body] = (counts[reply.body] ?? 0) + 1;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return counts;
}

test('reviews → subset v3: 100 requests land on v3, and the waypoint counts 100 v3 200s', { timeout: 60_000 }, async () => {
  await applyRoutes(virtualService(`  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v3}`));
  const counts = await countVersions(100);
  assert.deepEqual(counts, { 'reviews-v3': 100 });
  const metrics = await waypointMetrics(wm);
  assert.equal(sumSeries(metrics, 'istio_requests_total', { reporter: 'waypoint', destination_version: 'v3', response_code: '200' }), 100);
  assert.equal(sumSeries(metrics, 'istio_requests_total', { reporter: 'waypoint' }), 100);
  // One series with the full label set, in Istio's order.
  const line = metrics.split('\n').find((l) => l.startsWith('istio_requests_total{'))!;
  const ip = wm.mesh.podIp(13);
  assert.equal(
    line,
    'istio_requests_total{reporter="waypoint",source_workload="client",source_canonical_service="client",source_canonical_revision="latest",' +
      'source_workload_namespace="default",source_principal="spiffe://cluster.local/ns/default/sa/client",source_app="client",source_version="unknown",' +
      'source_cluster="Kubernetes",destination_service="reviews.default.svc.cluster.local",destination_service_namespace="default",' +
      'destination_service_name="reviews",destination_workload="reviews-v3",destination_canonical_service="reviews",destination_canonical_revision="v3",' +
      'destination_workload_namespace="default",destination_principal="spiffe://cluster.local/ns/default/sa/bookinfo-reviews",destination_app="reviews",' +
      'destination_version="v3",destination_cluster="Kubernetes",request_protocol="http",response_code="200",grpc_response_status="",' +
      'response_flags="-",connection_security_policy="mutual_tls"} 100',
    `first series (backend ${ip})`,
  );
  // One access log line per request, with the http.* fields.
  const lines = wm.waypoint.output().split('\n').filter((l) => l.includes('\trequest complete\t'));
  assert.equal(lines.length, 100);
  assert.match(
    lines[0]!,
    new RegExp(
      `^\\S+Z\\tinfo\\taccess\\trequest complete\\tsrc\\.addr=${wm.mesh.podIp(20).replace(/\./g, '\\.')}:\\d+ src\\.workload="client" src\\.namespace="default" ` +
        `src\\.identity="spiffe://cluster\\.local/ns/default/sa/client" dst\\.addr=127\\.${wm.mesh.base}\\.0\\.2:15008 dst\\.hbone_addr=${ip.replace(/\./g, '\\.')}:9080 ` +
        `dst\\.service="reviews\\.default\\.svc\\.cluster\\.local" dst\\.workload="reviews-v3" dst\\.namespace="default" ` +
        `dst\\.identity="spiffe://cluster\\.local/ns/default/sa/bookinfo-reviews" direction="inbound" http\\.method=GET http\\.path="/reviews/1" ` +
        `http\\.status=200 route="default/reviews/http\\[0\\]" response_flags="-" bytes_sent=\\d+ bytes_recv=\\d+ duration="\\d+ms"$`,
    ),
  );
  // The four connections under those requests, as the client's node proxy and the waypoint log them: the tunnel
  // goes to the waypoint (dst.addr), the target inside it is the service VIP (dst.hbone_addr), as in ztunnel.
  const dump = JSON.parse(await wm.mesh.proxyGet(1, 15000, '/config_dump')) as { services: Array<{ hostname: string; addresses: string[] }> };
  const vip = dump.services.find((sv) => sv.hostname === 'reviews.default.svc.cluster.local')!.addresses[0];
  const hop = [`${wm.waypointIp}:15008`, `${vip}:9080`];
  const addrs = (l: string) => ['dst.addr', 'dst.hbone_addr'].map((f) => new RegExp(`\\s${f.replace('.', '\\.')}=(\\S+)`).exec(l)?.[1]);
  const connections = (output: string, direction: string) =>
    output.split('\n').filter((l) => l.includes('\tconnection complete\t') && l.includes(`direction="${direction}"`) && l.includes('dst.service="reviews.default.svc.cluster.local"'));
  const outbound = await eventually(() => {
    const found = connections(wm.mesh.nodes[0]!.proc.output(), 'outbound');
    return found.length === 4 ? found : undefined;
  }, 10_000, 'four outbound connection lines on node-1');
  const atWaypoint = await eventually(() => {
    const found = connections(wm.waypoint.output(), 'inbound');
    return found.length === 4 ? found : undefined;
  }, 10_000, 'four inbound connection lines at the waypoint');
  assert.deepEqual([...outbound, ...atWaypoint].map(addrs), Array.from({ length: 8 }, () => hop), [...outbound, ...atWaypoint].join('\n'));
  assert.equal(sumSeries(metrics, 'istio_request_duration_milliseconds_count', { destination_version: 'v3' }), 100);
  assert.equal(sumSeries(metrics, 'istio_response_bytes_count', { destination_version: 'v3' }), 100);
  // Envoy's default buckets, from 0.5 to 3600000; a request head is larger than 0.5 bytes.
  assert.equal(sumSeries(metrics, 'istio_request_bytes_bucket', { le: '0.5', destination_version: 'v3' }), 0);
  assert.equal(sumSeries(metrics, 'istio_request_bytes_bucket', { le: '3600000', destination_version: 'v3' }), 100);
  const les = [...new Set([...metrics.matchAll(/istio_request_duration_milliseconds_bucket\{le="([^"]+)"/g)].map((m) => m[1]))];
  assert.deepEqual(les, ['0.5', '1', '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000', '30000', '60000', '300000', '600000', '1800000', '3600000', '+Inf']);
});

test('weights 80/20 between v1 and v2: 1,000 requests split exactly 800/200', { timeout: 120_000 }, async () => {
  await applyRoutes(virtualService(`  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 80
    - destination: {host: reviews, subset: v2}
      weight: 20`));
  const counts = await countVersions(1000);
  // Smooth weighted round robin (waypoint/router.ts) repeats every 100 picks: 1,000 requests split exactly.
  assert.deepEqual(counts, { 'reviews-v1': 800, 'reviews-v2': 200 });
});

test('header match: end-user jason → v2, everyone else → v1; a re-applied route takes effect without restart', { timeout: 60_000 }, async () => {
  const pid = wm.waypoint.proc.pid;
  await applyRoutes(virtualService(`  hosts: [reviews]
  http:
  - match:
    - headers:
        end-user: {exact: jason}
    route:
    - destination: {host: reviews, subset: v2}
  - route:
    - destination: {host: reviews, subset: v1}`));
  assert.deepEqual(await countVersions(20, { 'end-user': 'jason' }), { 'reviews-v2': 20 });
  assert.deepEqual(await countVersions(20, { 'end-user': 'jasonx' }), { 'reviews-v1': 20 });
  assert.deepEqual(await countVersions(20), { 'reviews-v1': 20 });

  // Route change: everything to v3, picked up by the running waypoint within a bounded wait.
  await wm.mesh.apply(virtualService(`  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v3}`));
  await eventually(async () => (await get(wm, '/reviews/1')).body === 'reviews-v3', 5_000, 'the route change to reach the waypoint');
  assert.deepEqual(await countVersions(20, { 'end-user': 'jason' }), { 'reviews-v3': 20 });
  assert.equal(wm.waypoint.proc.pid, pid);
  assert.equal(wm.waypoint.proc.exitCode, null);
});

/** Sends requests one after another on ONE TCP connection and returns the bodies. */
async function keepAliveBodies(paths: string[]): Promise<string[]> {
  const socket = connect({ host: wm.listen.listenAddress, port: wm.listen.listenPort });
  const bodies: string[] = [];
  let buffer = '';
  try {
    for (const path of paths) {
      socket.write(`GET ${path} HTTP/1.1\r\nhost: reviews\r\n\r\n`);
      const body = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no response for ${path} on the kept-alive connection`)), 10_000);
        const onData = (c: Buffer): void => {
          buffer += c.toString('latin1');
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, end))?.[1] ?? 0);
          if (buffer.length < end + 4 + length) return;
          const text = buffer.slice(end + 4, end + 4 + length);
          buffer = buffer.slice(end + 4 + length);
          clearTimeout(timer);
          socket.off('data', onData);
          resolve(text);
        };
        socket.on('data', onData);
        socket.once('error', reject);
      });
      bodies.push(body);
    }
  } finally {
    socket.destroy();
  }
  return bodies;
}

test('keep-alive: requests on one client connection are routed one by one', { timeout: 60_000 }, async () => {
  await applyRoutes(virtualService(`  hosts: [reviews]
  http:
  - match:
    - uri: {prefix: /v2/}
    route:
    - destination: {host: reviews, subset: v2}
  - match:
    - uri: {regex: "/v1/[0-9]+"}
    route:
    - destination: {host: reviews, subset: v1}
  - route:
    - destination: {host: reviews, subset: v3}`));
  const bodies = await keepAliveBodies(['/v2/a', '/v1/17', '/other', '/v1/x', '/v2/b', '/v1/2']);
  assert.deepEqual(bodies, ['reviews-v2', 'reviews-v1', 'reviews-v3', 'reviews-v3', 'reviews-v2', 'reviews-v1']);
});

test('a subset without endpoints answers 503 "no healthy upstream", counted with response_code 503', { timeout: 60_000 }, async () => {
  await applyRoutes(virtualService(`  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v4}`));
  const reply = await get(wm, '/reviews/1');
  assert.equal(reply.status, 503);
  assert.equal(reply.body, 'no healthy upstream');
  const metrics = await waypointMetrics(wm);
  assert.equal(sumSeries(metrics, 'istio_requests_total', { response_code: '503', response_flags: 'UH', destination_workload: 'unknown' }), 1);
});

test('chunked request bodies reach the backend whole', { timeout: 60_000 }, async () => {
  await applyRoutes(virtualService(`  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}`));
  const body = 'x'.repeat(100_000);
  const reply = await get(wm, '/upload', { method: 'POST', body, headers: { 'transfer-encoding': 'chunked' } });
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'reviews-v1');
  assert.equal(reply.headers['x-body-bytes'], '100000');
});

test('apply rejects a route to a subset no DestinationRule defines, with the field path, and applies nothing', { timeout: 30_000 }, async () => {
  const res = await wm.mesh.api('/apply', {
    method: 'POST',
    body:
      DESTINATION_RULE +
      virtualService(
        `  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 50
    - destination: {host: reviews, subset: v9}
      weight: 50`,
        'reviews-bad',
      ),
  });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { error: { code: string; path: string } };
  assert.equal(body.error.code, 'L4MESH_ERR_INVALID_RESOURCE');
  assert.equal(body.error.path, 'spec.http[0].route[1].destination.subset');
  assert.equal((await wm.mesh.api('/apis/networking.istio.io/v1/namespaces/default/virtualservices/reviews-bad')).status, 404);
});

test('tcp routes on a non-HTTP port: weighted 50/50 between subsets, bytes spliced raw', { timeout: 60_000 }, async () => {
  await wm.mesh.apply(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews-tcp
spec:
  host: reviews-tcp
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews-tcp
spec:
  hosts: [reviews-tcp]
  tcp:
  - match:
    - port: 9080
    route:
    - destination: {host: reviews-tcp, subset: v1}
      weight: 50
    - destination: {host: reviews-tcp, subset: v2}
      weight: 50
---
`);
  const once = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request({ host: wm.listenTcp.listenAddress, port: wm.listenTcp.listenPort, path: '/', agent: false, timeout: 10_000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  // Until the waypoint polls the new routes, connections go round robin over all three versions.
  await eventually(async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await once());
    return seen.size === 2 && !seen.has('reviews-v3');
  }, 10_000, 'the tcp route to reach the waypoint');
  const counts: Record<string, number> = {};
  for (let i = 0; i < 20; i++) {
    const body = await once();
    counts[body] = (counts[body] ?? 0) + 1;
  }
  assert.deepEqual(counts, { 'reviews-v1': 10, 'reviews-v2': 10 });
  const metrics = await waypointMetrics(wm);
  assert.ok(sumSeries(metrics, 'istio_tcp_connections_opened_total', { reporter: 'waypoint', destination_service_name: 'reviews-tcp', destination_version: 'v2' }) >= 10);
});
