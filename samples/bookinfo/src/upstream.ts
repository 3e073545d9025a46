// Calls another Bookinfo service through the mesh: <NAME>_SERVICE_HOST/_PORT are the node proxy's
// outbound listeners for this pod (the local runtime sets them, as Kubernetes does for a Service).
import { request, Agent } from 'node:http';
import type { IncomingMessage } from 'node:http';

/** The headers Bookinfo forwards so one user's requests can be traced and routed together. */
const PROPAGATED = ['x-request-id', 'end-user', 'user-agent', 'traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled'];

/** A slow upstream must not hang the page: the original productpage gives up after a few seconds too. */
const UPSTREAM_TIMEOUT_MS = 3_000;

/**
 * A new connection per call, as the original productpage (Python requests without a session) makes: each
 * call is its own connection through the node proxies, so their access logs and round robin show every call.
 */
const agent = new Agent({ keepAlive: false });

/** "host:port" of a service as this pod sees it, or an error naming the missing variable. */
export function serviceAddress(service: string): { host: string; port: number } {
  const key = service.toUpperCase().replace(/-/g, '_');
  const host = process.env[`${key}_SERVICE_HOST`];
  const port = Number(process.env[`${key}_SERVICE_PORT`]);
  if (!host || !port) throw new Error(`${key}_SERVICE_HOST/_PORT are not set: is the "${service}" Service applied in this namespace?`);
  return { host, port };
}

export function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of PROPAGATED) {
    const v = req.headers[h];
    if (typeof v === 'string') out[h] = v;
  }
  return out;
}

/** GETs JSON from `service` at `path`; rejects on a non-2xx status, a timeout or a connection error. */
export function getJson(service: string, path: string, headers: Record<string, string>): Promise<unknown> {
  const { host, port } = serviceAddress(service);
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent, headers: { ...headers, host: `${service}:${port}` }, timeout: UPSTREAM_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
          reject(new Error(`${service}${path} answered ${res.statusCode}`));
          return;
        }
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`${service}${path} answered something that is not JSON`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${service}${path} did not answer within ${UPSTREAM_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}
