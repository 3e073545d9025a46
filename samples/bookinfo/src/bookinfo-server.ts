// The HTTP server every Bookinfo service runs: binds $POD_IP (the local runtime gives each pod its own
// loopback address) on the port given as first argument, routes GET paths, answers /health, stops on SIGTERM.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** Bookinfo's services all listen on 9080 in Istio's sample; the Deployments pass it explicitly. */
export const DEFAULT_PORT = 9080;

export interface Reply {
  status: number;
  /** A string is sent as text/html, anything else as JSON. */
  body: unknown;
}

/** A handler gets the path's captures (e.g. the product id) and the incoming request. */
export type Handler = (match: RegExpMatchArray, req: IncomingMessage) => Promise<Reply> | Reply;

export interface Route {
  path: RegExp;
  handler: Handler;
}

function send(res: ServerResponse, reply: Reply): void {
  const html = typeof reply.body === 'string';
  const text = html ? (reply.body as string) : JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': html ? 'text/html; charset=utf-8' : 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Starts the service; resolves once it listens. `name` prefixes its log lines. */
export async function serve(name: string, routes: Route[]): Promise<void> {
  const host = process.env['POD_IP'] || '127.0.0.1';
  const port = Number(process.argv[2] ?? DEFAULT_PORT);
  const all: Route[] = [{ path: /^\/health$/, handler: () => ({ status: 200, body: { status: `${name} is healthy` } }) }, ...routes];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = req.method === 'GET' ? all.map((r) => ({ r, m: path.match(r.path) })).find((x) => x.m) : undefined;
    if (!route) {
      send(res, { status: 404, body: { error: `${req.method} ${path} not found` } });
      return;
    }
    Promise.resolve(route.r.handler(route.m!, req))
      .then((reply) => {
        process.stdout.write(`${new Date().toISOString()} ${req.method} ${path} ${reply.status}\n`);
        send(res, reply);
      })
      .catch((err: Error) => {
        process.stderr.write(`${new Date().toISOString()} ${req.method} ${path} 500 ${err.message}\n`);
        send(res, { status: 500, body: { error: err.message } });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  process.stdout.write(`${name} listening on http://${host}:${port} (pod ${process.env['POD_NAME'] ?? 'unknown'})\n`);
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
