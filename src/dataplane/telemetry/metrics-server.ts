// The proxy's :15020 metrics endpoint: /metrics and /stats/prometheus in Prometheus text, or OpenMetrics
// when the scraper's Accept header asks for it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { L4meshError } from '../../errors/index.js';
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, renderMetrics, type ExpositionFormat } from './exposition.js';

export const METRICS_PATHS: readonly string[] = ['/metrics', '/stats/prometheus'];

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface MetricsServerOptions {
  host: string;
  port: number;
  registry: Registry | readonly Registry[];
  /** Further GET paths served by the same listener (e.g. a readiness page). */
  extraRoutes?: Record<string, RouteHandler>;
}

export interface MetricsServer {
  readonly port: number;
  /** The listening server, e.g. for accept-error accounting (dataplane/admin/fd-pressure.ts). */
  readonly server: Server;
  close(): Promise<void>;
}

/** Prometheus sends `Accept: application/openmetrics-text; version=1.0.0,...;q=0.5` when it prefers OpenMetrics. */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  return accept && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const registries: readonly Registry[] = Array.isArray(options.registry) ? options.registry : [options.registry as Registry];
  const extra = options.extraRoutes ?? {};
  // Scrapes arriving while one is rendering share its result: one serialization per format at a time.
  const inflight = new Map<ExpositionFormat, Promise<string>>();
  const render = (format: ExpositionFormat): Promise<string> => {
    let p = inflight.get(format);
    if (!p) {
      p = renderMetrics(registries, format).finally(() => inflight.delete(format));
      inflight.set(format, p);
    }
    return p;
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    if (METRICS_PATHS.includes(path)) {
      const format = negotiateFormat(req.headers.accept);
      render(format).then(
        (body) => {
          res.writeHead(200, {
            'content-type': format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE,
            'content-length': Buffer.byteLength(body),
          });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics collection failed: ${(err as Error).message}\n`);
        },
      );
      return;
    }
    const handler = extra[path];
    if (handler) {
      handler(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new L4meshError(
          'L4MESH_ERR_CONFIG',
          `cannot serve metrics on ${options.host}:${options.port}: ${err.code ?? err.message}; check that no other proxy binds this address and port`,
          { cause: err },
        ),
      ),
    );
    server.listen(options.port, options.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Scrapers keep connections alive; do not let them hold shutdown hostage.
        server.closeIdleConnections();
      }),
  };
}
