// A mesh with a waypoint for integration tests: control plane + 2 node proxies, a `reviews` service
// (HTTP, label istio.io/use-waypoint) backed by v1/v2/v3 HTTP servers, a client pod, and the waypoint
// process on its own pod IP on node-1.
import { createServer, request, Agent, type Server } from 'node:http';
import { startMesh, podYaml, eventually, PROCESS_START_TIMEOUT_MS, type TestMesh } from '../../support/mesh.js';
import { startCli, type Child } from '../../support/processes.js';

export const REVIEWS_PORT = 9080;
export const VERSIONS = ['v1', 'v2', 'v3'] as const;

export interface WaypointMesh {
  mesh: TestMesh;
  waypoint: Child;
  waypointIp: string;
  listen: { listenAddress: string; listenPort: number };
  /** The client's outbound listener for reviews-tcp (a plain TCP port through the same waypoint). */
  listenTcp: { listenAddress: string; listenPort: number };
  backends: Server[];
  /** Requests each backend version answered. */
  hits: Record<string, number>;
  stop(): Promise<void>;
}

/** An HTTP backend answering `reviews-<version>` (and echoing a request body's length in a header). */
function startBackend(ip: string, version: string, hits: Record<string, number>): Promise<Server> {
  const server = createServer((req, res) => {
    let body = 0;
    req.on('data', (c: Buffer) => (body += c.length));
    req.on('end', () => {
      hits[version] = (hits[version] ?? 0) + 1;
      const text = `reviews-${version}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'x-body-bytes': String(body), 'content-length': text.length });
      res.end(text);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(REVIEWS_PORT, ip, () => resolve(server));
  });
}

export const DESTINATION_RULE = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
  - name: v3
    labels: {version: v3}
  - name: v4
    labels: {version: v4}
---
`;

/** `extraWaypointArgs`: more flags for the waypoint process (e.g. `--metrics-expiry-grace 1s`). */
export async function startWaypointMesh(options: { extraWaypointArgs?: string[] } = {}): Promise<WaypointMesh> {
  const mesh = await startMesh({ nodes: 2 });
  const hits: Record<string, number> = {};
  const backends: Server[] = [];
  let waypoint: Child | undefined;
  try {
    const ips = [mesh.podIp(11), mesh.podIp(12), mesh.podIp(13)];
    for (const [i, ip] of ips.entries()) backends.push(await startBackend(ip, VERSIONS[i]!, hits));
    const waypointIp = mesh.podIp(50);
    let yaml = `apiVersion: v1
kind: Service
metadata:
  name: reviews
  labels:
    istio.io/use-waypoint: waypoint
spec:
  selector:
    app: reviews
  ports:
  - name: http
    port: ${REVIEWS_PORT}
---
apiVersion: v1
kind: Service
metadata:
  name: reviews-tcp
  labels:
    istio.io/use-waypoint: waypoint
spec:
  selector:
    app: reviews
  ports:
  - name: tcp-reviews
    port: ${REVIEWS_PORT}
---
apiVersion: v1
kind: Service
metadata:
  name: waypoint
  labels:
    gateway.istio.io/managed: istio.io-mesh-controller
spec:
  selector:
    gateway.networking.k8s.io/gateway-name: waypoint
  ports:
  - name: mesh
    port: 15008
---
`;
    for (const [i, v] of VERSIONS.entries()) {
      yaml += podYaml({ name: `reviews-${v}`, ip: ips[i]!, node: i === 0 ? 'node-1' : 'node-2', labels: { app: 'reviews', version: v }, serviceAccount: 'bookinfo-reviews' });
    }
    yaml += podYaml({ name: 'waypoint-7d9c', ip: waypointIp, node: 'node-1', labels: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' }, serviceAccount: 'waypoint' });
    yaml += podYaml({ name: 'client', ip: mesh.podIp(20), node: 'node-1', labels: { app: 'client' }, serviceAccount: 'client' });
    await mesh.apply(yaml + DESTINATION_RULE);

    waypoint = startCli(
      ['waypoint', '--namespace', 'default', '--address', waypointIp, '--node', 'node-1', '--control-plane', `${mesh.controlPlaneAddress}:15012`, '--state-dir', mesh.stateDir, ...(options.extraWaypointArgs ?? [])],
      { env: { SERVICE_ACCOUNT: 'waypoint', POD_NAME: 'waypoint-7d9c' } },
    );
    await waypoint.waitFor(/waypoint started/, PROCESS_START_TIMEOUT_MS);
    await eventually(async () => (await fetch(`http://${waypointIp}:15021/healthz/ready`)).status === 200, 20_000, 'waypoint ready');
    const listen = await eventually(async () => {
      const mappings = JSON.parse(await mesh.proxyGet(1, 15000, '/capture')) as Array<{ workload: string; hostname: string; listenAddress: string; listenPort: number }>;
      return mappings.find((m) => m.workload === 'client' && m.hostname === 'reviews.default.svc.cluster.local');
    }, 15_000, 'the client outbound listener for reviews');
    const listenTcp = await eventually(async () => {
      const mappings = JSON.parse(await mesh.proxyGet(1, 15000, '/capture')) as Array<{ workload: string; hostname: string; listenAddress: string; listenPort: number }>;
      return mappings.find((m) => m.workload === 'client' && m.hostname === 'reviews-tcp.default.svc.cluster.local');
    }, 15_000, 'the client outbound listener for reviews-tcp');
    for (const k of [1, 2]) await eventually(async () => (await fetch(`http://127.${mesh.base}.0.${k}:15021/healthz/ready`)).status === 200, 15_000, 'node ready');
    const w = waypoint;
    return {
      mesh,
      waypoint: w,
      waypointIp,
      listen,
      listenTcp,
      backends,
      hits,
      async stop() {
        await w.stop();
        await Promise.all(backends.map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
        await mesh.stop();
      },
    };
  } catch (err) {
    await waypoint?.stop();
    await Promise.all(backends.map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
    await mesh.stop();
    throw err;
  }
}

export interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One request through the client's outbound listener; `agent` keeps a connection alive across calls. */
export function get(wm: WaypointMesh, path: string, options: { headers?: Record<string, string>; agent?: Agent; method?: string; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: wm.listen.listenAddress, port: wm.listen.listenPort, path, method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false, timeout: 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request ${path} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The waypoint's metrics text. */
export async function waypointMetrics(wm: WaypointMesh): Promise<string> {
  return (await fetch(`http://${wm.waypointIp}:15020/metrics`)).text();
}

/** Sum of the samples of `metric` whose labels include every `want` pair. */
export function sumSeries(text: string, metric: string, want: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric + '{')) continue;
    const labels = line.slice(metric.length + 1, line.lastIndexOf('}'));
    if (Object.entries(want).every(([k, v]) => labels.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export function virtualService(spec: string, name = 'reviews'): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
spec:
${spec}
---
`;
}
