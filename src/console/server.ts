// The console's HTTP server: the bundled web app and the JSON endpoints it reads (graph, series, workloads,
// node proxies, access-log lines), all answered from the scrape history, the node proxies and the state dir.
import { logsDir } from '../config/state-layout.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../config/paths.js';
import { fetchConfigDump, fetchConnections } from '../localrun/node-admin.js';
import type { MetricsHistory } from './metrics-history.js';

/** Kiali's port, so a reader of the Istio guides finds the console where they expect it. */
export const DEFAULT_CONSOLE_PORT = 20001;
/** The graph's default window: long enough to smooth the proxies' 15 s byte reports for open connections. */
export const DEFAULT_WINDOW_SECONDS = 60;
/** The tail of each log file read for access lines; older lines are for `l4mesh logs`. */
const LOG_TAIL_BYTES = 256 * 1024;
const MAX_LOG_LINES = 200;

/** Where `npm run build` puts the web app (scripts/build-console.mjs). */
export function webDir(): string {
  return join(packageRoot(), 'dist', 'console-web');
}

export interface ConsoleDeps {
  history: MetricsHistory;
  stateDir: string;
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

function hostOf(instance: string): string {
  return instance.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
}

async function nodeProxies(history: MetricsHistory) {
  const nodes = history.targets.filter((t) => t.role === 'ztunnel');
  return Promise.all(
    nodes.map(async (t) => {
      const address = hostOf(t.instance);
      const [dump, connections] = await Promise.all([fetchConfigDump(address).catch((e: Error) => e), fetchConnections(address).catch(() => [])]);
      return { proxy: t.proxy, node: t.node, address, dump: dump instanceof Error ? null : dump, error: dump instanceof Error ? dump.message : '', connections };
    }),
  );
}

/** Access-log lines from every proxy log in <state>/logs that mention `workload` as source or destination. */
async function accessLines(stateDir: string, workload: string | null): Promise<string[]> {
  const dir = logsDir(stateDir);
  if (!existsSync(dir)) return [];
  const lines: string[] = [];
  for (const name of (await readdir(dir)).filter((n) => /^(ztunnel|waypoint|sidecar)/.test(n)).sort()) {
    const f = await open(join(dir, name), 'r');
    try {
      const { size } = await f.stat();
      const start = Math.max(0, size - LOG_TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      await f.read(buf, 0, buf.length, start);
      for (const l of buf.toString('utf8').split('\n')) {
        if (!l.includes('\taccess\t') && !l.includes('"access"')) continue;
        if (workload && !l.includes(`workload="${workload}"`) && !l.includes(`"${workload}"`)) continue;
        lines.push(l);
      }
    } finally {
      await f.close();
    }
  }
  return lines.sort().slice(-MAX_LOG_LINES);
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
      const g = deps.history.graph(seconds(url, DEFAULT_WINDOW_SECONDS));
      return sendJson(res, 200, { ...g, targets: deps.history.targets, error: deps.history.lastError });
    }
    case '/api/series': {
      const edge = url.searchParams.get('edge');
      if (!edge) return sendJson(res, 400, { error: { code: 'L4MESH_ERR_BAD_REQUEST', message: 'missing ?edge=<edge id from /api/graph>' } });
      return sendJson(res, 200, { edge, points: deps.history.edgeSeries(edge, seconds(url, 300)) });
    }
    case '/api/workloads': {
      const proxies = await nodeProxies(deps.history);
      const seen = new Map<string, Record<string, unknown>>();
      for (const p of proxies) for (const w of p.dump?.workloads ?? []) seen.set(String(w['uid'] ?? w['name']), { ...w, reportedBy: p.proxy });
      const certificates = proxies.flatMap((p) => (p.dump?.certificates ?? []).map((c) => ({ proxy: p.proxy, identity: c.identity, state: c.state, notAfter: c.certChain[0]?.expirationTime ?? null, serial: c.certChain[0]?.serialNumber ?? null })));
      return sendJson(res, 200, { workloads: [...seen.values()], certificates });
    }
    case '/api/proxies':
      return sendJson(res, 200, { proxies: await nodeProxies(deps.history) });
    case '/api/logs':
      return sendJson(res, 200, { lines: await accessLines(deps.stateDir, url.searchParams.get('workload')) });
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
