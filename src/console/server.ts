// The console's HTTP server: the bundled web app and the JSON endpoints it reads (graph, series, workloads,
// services, policies, node proxies, access-log lines), from Prometheus or the console's own scrapes, the
// control plane's registry, the node proxies and the state dir.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../config/paths.js';
import { withNodeProxies } from './graph.js';
import { identityOf, podsOf, policiesOf, servicesOf, workloadNameOf, type Registryz } from './mesh-views.js';
import type { MetricsHistory } from './metrics-history.js';
import { PrometheusSource, recordedPrometheus } from './prometheus-source.js';
import { accessLines, certificatesByNode, nodeProxies } from './proxy-views.js';
import { edgeSeriesFrom, graphFrom, nodeSeriesFrom, type TrafficSource } from './traffic-source.js';

/** Kiali's port, so a reader of the Istio guides finds the console where they expect it. */
export const DEFAULT_CONSOLE_PORT = 20001;
/** The graph's default window: long enough to smooth the proxies' 15 s byte reports for open connections. */
export const DEFAULT_WINDOW_SECONDS = 60;

/** Where `npm run build` puts the web app (scripts/build-console.mjs). */
export function webDir(): string {
  return join(packageRoot(), 'dist', 'console-web');
}

export interface ConsoleDeps {
  history: MetricsHistory;
  stateDir: string;
  /** --prometheus; without it, the Prometheus `l4mesh dashboard prometheus` recorded in the state dir, if it runs. */
  prometheus?: string | undefined;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>l4mesh console</title><link rel="stylesheet" href="/app.css"></head>
<body><div id="app"></div><script src="/app.js"></script></body></html>
`;

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', JSON.stringify(body));
}

function seconds(url: URL, fallback: number): number {
  const raw = url.searchParams.get('window');
  const n = raw === null ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 600) throw new RangeError(`window must be seconds in (0, 600], got "${raw}"`);
  return n;
}

function param(url: URL, name: string): string {
  const v = url.searchParams.get(name);
  if (!v) throw new RangeError(`missing ?${name}=`);
  return v;
}

/**
 * Runs `read` on Prometheus when one is known, else (or when it fails, saying why in `error`) on the console's
 * own scrapes of the proxies.
 */
async function fromTraffic<T>(deps: ConsoleDeps, read: (source: TrafficSource) => Promise<T>): Promise<{ value: T; source: string; prometheus: string | null; error: string }> {
  const url = deps.prometheus ?? recordedPrometheus(deps.stateDir);
  if (url) {
    try {
      return { value: await read(new PrometheusSource(url)), source: 'prometheus', prometheus: url, error: '' };
    } catch (err) {
      return { value: await read(deps.history), source: 'proxies', prometheus: url, error: `${(err as Error).message}; showing the console's own scrapes` };
    }
  }
  return { value: await read(deps.history), source: 'proxies', prometheus: null, error: '' };
}

function registryOf(deps: ConsoleDeps): Registryz {
  return deps.history.registry ?? { workloads: [] };
}

/** The pods of `namespace/workload` the registry has now: the names the access log uses. */
function podNames(deps: ConsoleDeps, namespace: string, workload: string): Set<string> {
  return new Set(registryOf(deps).workloads.filter((w) => w.namespace === namespace && workloadNameOf(w) === workload).map((w) => w.name));
}

async function handle(deps: ConsoleDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://console');
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: { code: 'L4MESH_ERR_METHOD_NOT_ALLOWED', message: 'the console is read-only: GET only' } });
  switch (url.pathname) {
    case '/':
      return send(res, 200, 'text/html; charset=utf-8', PAGE);
    case '/favicon.ico':
      res.writeHead(204).end();
      return;
    case '/app.js':
    case '/app.css': {
      const file = join(webDir(), url.pathname.slice(1));
      if (!existsSync(file)) return send(res, 500, 'text/plain', `${file} is missing: run "npm run build" (it bundles the console's web app)\n`);
      return send(res, 200, url.pathname.endsWith('.js') ? 'text/javascript' : 'text/css', await readFile(file));
    }
    case '/api/graph': {
      const window = seconds(url, DEFAULT_WINDOW_SECONDS);
      const r = await fromTraffic(deps, (s) => graphFrom(s, window, deps.history.live));
      const g = url.searchParams.get('proxies') === '1' ? { ...r.value, ...withNodeProxies(r.value, registryOf(deps).workloads) } : r.value;
      return sendJson(res, 200, { ...g, source: r.source, prometheus: r.prometheus, targets: deps.history.targets, error: deps.history.lastError || r.error });
    }
    case '/api/series': {
      const edge = url.searchParams.get('edge');
      const node = url.searchParams.get('node');
      if (!edge && !node) return sendJson(res, 400, { error: { code: 'L4MESH_ERR_BAD_REQUEST', message: 'missing ?edge=<edge id> or ?node=<node id> from /api/graph' } });
      const window = seconds(url, 300);
      if (!edge) {
        const r = await fromTraffic(deps, (s) => nodeSeriesFrom(s, node!, window));
        return sendJson(res, 200, { node, source: r.source, points: r.value, error: r.error });
      }
      const reporter = url.searchParams.get('reporter') ?? undefined;
      const r = await fromTraffic(deps, (s) => edgeSeriesFrom(s, edge, window, reporter));
      return sendJson(res, 200, { edge, reporter: reporter ?? null, source: r.source, points: r.value, error: r.error });
    }
    case '/api/workloads': {
      const proxies = await nodeProxies(deps.history.targets);
      const workloads = registryOf(deps).workloads.map((w) => ({
        namespace: w.namespace,
        pod: w.name,
        workload: workloadNameOf(w),
        addresses: w.addresses ?? [],
        node: w.node ?? '',
        serviceAccount: w.serviceAccount ?? '',
        identity: identityOf(w),
        status: w.status ?? '',
        policies: w.authorizationPolicies ?? [],
      }));
      const certificates = proxies.flatMap((p) => (p.dump?.certificates ?? []).map((c) => ({ proxy: p.proxy, node: p.node, identity: c.identity, state: c.state, notAfter: c.certChain[0]?.expirationTime ?? null, serial: c.certChain[0]?.serialNumber ?? null })));
      return sendJson(res, 200, { workloads, certificates });
    }
    case '/api/workload': {
      const [namespace, name] = [param(url, 'namespace'), param(url, 'name')];
      const [proxies, lines] = await Promise.all([nodeProxies(deps.history.targets), accessLines(deps.stateDir, namespace, podNames(deps, namespace, name))]);
      const pods = podsOf(registryOf(deps), namespace, name, certificatesByNode(proxies));
      if (pods.length === 0) return sendJson(res, 404, { error: { code: 'L4MESH_ERR_NOT_FOUND', message: `no workload ${namespace}/${name} in the control plane's registry; see /api/workloads` } });
      return sendJson(res, 200, { namespace, name, pods, lines });
    }
    case '/api/services':
      return sendJson(res, 200, { services: servicesOf(registryOf(deps)) });
    case '/api/policies':
      return sendJson(res, 200, { policies: policiesOf(registryOf(deps)) });
    case '/api/proxies':
      return sendJson(res, 200, { proxies: await nodeProxies(deps.history.targets) });
    case '/api/proxy': {
      const node = param(url, 'node');
      const p = (await nodeProxies(deps.history.targets)).find((x) => x.node === node);
      if (!p) return sendJson(res, 404, { error: { code: 'L4MESH_ERR_NOT_FOUND', message: `no node proxy on node "${node}" in the control plane's service discovery; see /api/proxies` } });
      return sendJson(res, 200, p);
    }
    case '/api/logs':
      return sendJson(res, 200, { lines: await accessLines(deps.stateDir, param(url, 'namespace'), podNames(deps, param(url, 'namespace'), param(url, 'workload'))) });
    default:
      return sendJson(res, 404, { error: { code: 'L4MESH_ERR_NOT_FOUND', message: `no console page or endpoint ${url.pathname}; see docs/dashboard.md` } });
  }
}

export function createConsoleServer(deps: ConsoleDeps): Server {
  return createServer((req, res) => {
    handle(deps, req, res).catch((err: Error) => {
      if (res.headersSent) return res.destroy();
      const bad = err instanceof RangeError;
      sendJson(res, bad ? 400 : 500, { error: { code: bad ? 'L4MESH_ERR_BAD_REQUEST' : 'L4MESH_ERR_INTERNAL', message: err.message } });
    });
  });
}
