// Proxy admin endpoints: admin (loopback: config_dump, logging, quitquitquit) and readiness.
// Reads stay open on loopback (no secrets: certificates without keys, the mesh every proxy is sent);
// every request that changes state needs the proxy's admin token (admin-token.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { L4meshError } from '../../errors/index.js';
import { ADMIN_REALM, checkAdminCredential } from './admin-token.js';
import type { TraceStore } from '../trace/trace-store.js';

export interface AdminDeps {
  configDump(): unknown;
  /** Extra read-only JSON views, e.g. `/connections`, `/capture`. */
  views?: Record<string, () => unknown>;
  setLogLevel(level: string): string | undefined;
  getLogLevel(): string;
  quit(): void;
  /** Required as `Authorization: Bearer` by POST /logging, POST /quitquitquit and POST /debug/trace. */
  adminToken: string;
  /** Decisions of sampled traces: GET /debug/trace?id=, and POST /debug/trace?id=&client= to arm one. */
  traces?: TraceStore;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

/** False (after answering 401 or 403) unless the request carries the proxy's admin token. */
function authorized(req: IncomingMessage, res: ServerResponse, token: string, path: string): boolean {
  const credential = checkAdminCredential(req, token);
  if (credential === 'ok') return true;
  if (credential === 'missing') {
    send(res, 401, `${req.method} ${path} changes the proxy: send "Authorization: Bearer <token>" with the token from <state dir>/admin-tokens/<proxy address>.token\n`, undefined, {
      'www-authenticate': `Bearer realm="${ADMIN_REALM}"`,
    });
  } else {
    send(res, 403, `${req.method} ${path}: wrong admin token; read it again from <state dir>/admin-tokens/<proxy address>.token (a restarted proxy writes a new one)\n`);
  }
  return false;
}

function sendJson(res: ServerResponse, body: unknown): void {
  send(res, 200, JSON.stringify(body, null, 2) + '\n', 'application/json');
}

export function adminHandler(deps: AdminDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/config_dump') return sendJson(res, deps.configDump());
    const view = deps.views?.[path];
    if (req.method === 'GET' && view) return sendJson(res, view());
    if (path === '/logging') {
      if (req.method !== 'POST') return send(res, 200, `current log level is ${deps.getLogLevel()}\n`);
      if (!authorized(req, res, deps.adminToken, path)) return;
      const level = url.searchParams.get('level');
      if (!level) return send(res, 400, 'missing ?level= (error, warn, info, debug, trace)\n');
      const problem = deps.setLogLevel(level);
      if (problem) return send(res, 400, problem + '\n');
      return send(res, 200, `current log level is ${deps.getLogLevel()}\n`);
    }
    if (path === '/debug/trace' && deps.traces) return traceEndpoint(req, res, url, deps.traces, deps.adminToken);
    if (path === '/quitquitquit') {
      if (req.method !== 'POST') return send(res, 405, 'use POST /quitquitquit\n');
      if (!authorized(req, res, deps.adminToken, path)) return;
      send(res, 200, 'OK\n');
      setImmediate(() => deps.quit());
      return;
    }
    const known = ['/config_dump', '/logging', '/quitquitquit', ...(deps.traces ? ['/debug/trace'] : []), ...Object.keys(deps.views ?? {})].join(', ');
    send(res, 404, `no admin endpoint ${req.method} ${path}; known: ${known}\n`);
  };
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const CLIENT_ADDRESS = /^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/;

/** GET: one trace's decisions (or the ids held); POST (token): the next connection from `client` carries trace `id`. */
function traceEndpoint(req: IncomingMessage, res: ServerResponse, url: URL, traces: TraceStore, token: string): void {
  const id = url.searchParams.get('id');
  if (req.method === 'GET') {
    if (id === null) return sendJson(res, { traces: traces.ids() });
    const trace = traces.get(id);
    if (!trace) return send(res, 404, `no trace ${id} on this proxy: it keeps the last traces its sampled connections made, and none carried this id\n`);
    return sendJson(res, trace);
  }
  if (req.method !== 'POST') return send(res, 405, 'use GET /debug/trace?id=TRACE_ID or POST /debug/trace?id=TRACE_ID&client=IP:PORT\n');
  if (!authorized(req, res, token, url.pathname)) return;
  const client = url.searchParams.get('client') ?? '';
  if (!id || !TRACE_ID.test(id)) return send(res, 400, `?id= must be a trace id of 32 lower-case hex digits, got "${id ?? ''}"\n`);
  if (!CLIENT_ADDRESS.test(client)) return send(res, 400, `?client= must be the IPv4 ip:port the traced connection comes from, got "${client}"\n`);
  traces.arm(client, id);
  send(res, 200, `armed: the next connection from ${client} carries trace ${id}\n`);
}

export function readinessHandler(ready: () => boolean): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://readiness').pathname;
    if (path !== '/healthz/ready') return send(res, 404, 'not found\n');
    if (ready()) return send(res, 200, 'ready\n');
    send(res, 503, 'not ready\n');
  };
}

export function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, host: string, port: number, what: string): Promise<Server> {
  return listenServer(createServer(handler), host, port, what);
}

/** Listens, turning "address in use" into an error that names the address and what it was for. */
export function listenServer(server: Server, host: string, port: number, what: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new L4meshError('L4MESH_ERR_CONFIG', `cannot listen for ${what} on ${host}:${port}: ${err.code ?? err.message} — is another proxy using this address?`)),
    );
    server.listen(port, host, () => resolve(server));
  });
}

export function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
