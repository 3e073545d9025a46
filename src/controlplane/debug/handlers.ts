// Unauthenticated read-only endpoints of the control plane's HTTP server: readiness, metrics,
// debug dumps and Prometheus HTTP service discovery (what istiod serves on its monitoring port).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry as PromRegistry } from 'prom-client';
import { isIPv4 } from 'node:net';
import { CLUSTER_DOMAIN, NETNS_RANGE, PROXY_METRICS_PORT } from '../../config/mesh-constants.js';
import { parseCidr } from '../config.js';
import { parseNodeId, type ProxyInfo } from '../registry/source.js';

const NETNS_PODS = parseCidr(NETNS_RANGE, 'NETNS_RANGE');

/**
 * netns mode's pods (a waypoint) live in namespaces the host has no route into, so Prometheus and the
 * console, which run on the host, cannot scrape them; they are left out of service discovery.
 */
function inPodNetwork(ip: string): boolean {
  if (!isIPv4(ip)) return false;
  const n = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return n >= NETNS_PODS.base && n < NETNS_PODS.base + 2 ** (32 - NETNS_PODS.bits);
}

export interface DebugDeps {
  metrics: PromRegistry;
  ready: () => boolean;
  registryz: () => unknown;
  connections: () => Array<{ proxy: ProxyInfo; connectedAt: Date; lastPushAt?: Date; pushes: number; resourcesSent?: number; nacks: number }>;
  resourcesFor: (proxy: ProxyInfo) => unknown;
  /** The control plane's own metrics address, listed in service discovery too. */
  selfMetricsTarget: () => string;
  /** For /debug/replicaz: this replica, whether it leads, and every proxy of every replica. */
  replicaz?: () => unknown;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** `ztunnel-node-1` → `node-1`; other roles report the proxy name itself. */
function nodeOf(proxy: ProxyInfo): string {
  return proxy.type === 'ztunnel' && proxy.name.startsWith('ztunnel-') ? proxy.name.slice('ztunnel-'.length) : proxy.name;
}

/** Prometheus HTTP SD answer: one target group per connected proxy the host can reach, plus the control plane itself. */
export function prometheusTargets(deps: Pick<DebugDeps, 'connections' | 'selfMetricsTarget'>): unknown[] {
  const groups: unknown[] = [
    { targets: [deps.selfMetricsTarget()], labels: { role: 'control-plane', __metrics_path__: '/metrics' } },
  ];
  const seen = new Set<string>();
  for (const c of deps.connections()) {
    if (seen.has(c.proxy.id) || inPodNetwork(c.proxy.ip)) continue;
    seen.add(c.proxy.id);
    const host = c.proxy.ip.includes(':') ? `[${c.proxy.ip}]` : c.proxy.ip;
    groups.push({
      targets: [`${host}:${PROXY_METRICS_PORT}`],
      labels: {
        role: c.proxy.type,
        node: nodeOf(c.proxy),
        proxy: c.proxy.proxyId,
        namespace: c.proxy.namespace,
        __metrics_path__: '/stats/prometheus',
      },
    });
  }
  return groups;
}

export function createDebugHandler(deps: DebugDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://control-plane');
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    switch (url.pathname) {
      case '/ready': {
        const ok = deps.ready();
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(ok ? 'ready\n' : 'not ready\n');
        return true;
      }
      case '/metrics': {
        deps.metrics.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': deps.metrics.contentType });
            res.end(text);
          },
          (err: Error) =>
            sendJson(res, 500, { error: { code: 'L4MESH_ERR_INTERNAL', message: `cannot render the control plane's metrics: ${err.message}; this is a bug in l4mesh, please report it` } }),
        );
        return true;
      }
      case '/debug/registryz':
        sendJson(res, 200, deps.registryz());
        return true;
      case '/debug/syncz':
        sendJson(
          res,
          200,
          deps.connections().map((c) => ({
            proxy: c.proxy.proxyId,
            nodeId: c.proxy.id,
            connectedAt: c.connectedAt.toISOString(),
            lastPushAt: c.lastPushAt?.toISOString() ?? null,
            pushes: c.pushes,
            resourcesSent: c.resourcesSent ?? 0,
            nacks: c.nacks,
          })),
        );
        return true;
      case '/debug/replicaz':
        sendJson(res, 200, deps.replicaz?.() ?? {});
        return true;
      case '/debug/prometheus_sd':
        sendJson(res, 200, prometheusTargets(deps));
        return true;
      case '/debug/config_dump': {
        const proxyId = url.searchParams.get('proxyID');
        if (!proxyId) {
          sendJson(res, 400, { error: { code: 'L4MESH_ERR_BAD_REQUEST', message: 'missing ?proxyID=<name>.<namespace>, e.g. ztunnel-node-1.istio-system' } });
          return true;
        }
        const conn = deps.connections().find((c) => c.proxy.proxyId === proxyId);
        // A proxy that is not connected still has a well-defined view: what it would be sent.
        const dot = proxyId.indexOf('.');
        const proxy =
          conn?.proxy ??
          (dot > 0 ? parseNodeId(`ztunnel~0.0.0.0~${proxyId}~${proxyId.slice(dot + 1)}.svc.${CLUSTER_DOMAIN}`) : undefined);
        if (!proxy) {
          sendJson(res, 400, { error: { code: 'L4MESH_ERR_BAD_REQUEST', message: `proxyID "${proxyId}" is not <name>.<namespace>` } });
          return true;
        }
        sendJson(res, 200, { proxyID: proxyId, connected: Boolean(conn), ...(deps.resourcesFor(proxy) as object) });
        return true;
      }
      default:
        return false;
    }
  };
}
