// Proxy admin endpoints: :15000 (loopback) config_dump, logging, quitquitquit, and :15021 readiness.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { L4meshError } from '../../errors/index.js';

export interface AdminDeps {
  configDump(): unknown;
  /** Extra read-only JSON views, e.g. `/connections`, `/capture`. */
  views?: Record<string, () => unknown>;
  setLogLevel(level: string): string | undefined;
  getLogLevel(): string;
  quit(): void;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
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
      const level = url.searchParams.get('level');
      if (!level) return send(res, 400, 'missing ?level= (error, warn, info, debug, trace)\n');
      const problem = deps.setLogLevel(level);
      if (problem) return send(res, 400, problem + '\n');
      return send(res, 200, `current log level is ${deps.getLogLevel()}\n`);
    }
    if (path === '/quitquitquit') {
      if (req.method !== 'POST') return send(res, 405, 'use POST /quitquitquit\n');
      send(res, 200, 'OK\n');
      setImmediate(() => deps.quit());
      return;
    }
    const known = ['/config_dump', '/logging', '/quitquitquit', ...Object.keys(deps.views ?? {})].join(', ');
    send(res, 404, `no admin endpoint ${req.method} ${path}; known: ${known}\n`);
  };
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
