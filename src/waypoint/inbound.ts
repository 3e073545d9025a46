// The waypoint's HBONE handler: a CONNECT for a service VIP:port → HTTP/1.1 parsing and per-request routing
// when the port speaks HTTP (or VirtualService http routes exist), else a `tcp` route → raw splice.
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { MeshService, MeshWorkload } from '../api/mesh.js';
import type { HboneInboundDecision, HboneInboundRequest, HboneServer } from '../dataplane/hbone/server.js';
import { parseForwardedFor } from '../dataplane/hbone/headers.js';
import { socketPair, type PairedSocket } from '../dataplane/http/duplex-pair.js';
import { splice } from '../dataplane/splice.js';
import { newConnectionStats } from '../dataplane/connection-stats.js';
import type { ProxyState } from '../dataplane/state/proxy-state.js';
import type { ConnectionStats, TrackedConnection } from '../dataplane/telemetry/connection-tracker.js';
import { RESPONSE_FLAGS } from '../dataplane/telemetry/labels.js';
import type { Logger } from '../logging/logger.js';
import type { ConnectionPeers, ConnectionReporter } from '../dataplane/connections/reporter.js';
import type { DestinationResolver } from './destination.js';
import type { HttpRouting, TunnelContext } from './http-routing.js';
import type { RouteTable } from './route-config.js';
import { selectTcpRoute, type WeightedDestinationPicker } from './router.js';
import type { UpstreamConnector } from './upstream.js';
import { inboundTrace, traceClosed } from '../dataplane/trace/path-decisions.js';
import type { TraceRecorder, TraceStore } from '../dataplane/trace/trace-store.js';

/** Idle keep-alive connections on a tunnel stay open this long, as Envoy's HTTP idle timeout (1 h). */
export const DEFAULT_HTTP_IDLE_TIMEOUT_MS = 3_600_000;

export interface WaypointInboundDeps {
  state: ProxyState;
  routes(): RouteTable;
  http: HttpRouting;
  picker: WeightedDestinationPicker;
  resolver: DestinationResolver;
  upstream: UpstreamConnector;
  reporter: ConnectionReporter;
  hboneAddr: string;
  log: Logger;
  /** Records the decisions of tunnels whose `traceparent` is sampled (an `l4mesh check` probe). */
  traces?: TraceStore;
  /** The waypoint's name in those records (`waypoint default/waypoint`). */
  traceName?: string;
}

interface TunnelTelemetry {
  peers: ConnectionPeers;
  startedAt: number;
  trace?: TraceRecorder;
  tracked?: TrackedConnection;
}

/** Whether requests on `service:port` are parsed as HTTP/1.1. */
export function speaksHttp(service: MeshService, port: number, routes: RouteTable): boolean {
  const mapping = service.ports.find((p) => p.servicePort === port);
  if (mapping?.appProtocol === 'HTTP11') return true;
  return routes.httpRoutes(service.hostname).length > 0 && mapping?.appProtocol !== 'HTTP2' && mapping?.appProtocol !== 'GRPC';
}

export class WaypointInbound {
  private readonly telemetry = new WeakMap<HboneInboundRequest, TunnelTelemetry>();
  private readonly tunnels = new WeakMap<Duplex, TunnelContext>();
  /** One parser-only server: tunnels are handed to it as connections; it never listens. */
  readonly httpServer: Server;

  constructor(private readonly deps: WaypointInboundDeps) {
    this.httpServer = createServer({ keepAliveTimeout: DEFAULT_HTTP_IDLE_TIMEOUT_MS, requestTimeout: 0 }, (req, res) => {
      const ctx = this.tunnels.get(req.socket);
      if (!ctx) {
        res.writeHead(500).end();
        return;
      }
      void this.deps.http.handle(ctx, req, res).catch((err: unknown) => {
        this.deps.log.error('request handling failed', { error: err });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.httpServer.on('upgrade', (req, socket: Duplex, head: Buffer) => {
      const ctx = this.tunnels.get(socket);
      if (!ctx) return socket.destroy();
      void this.deps.http.handleUpgrade(ctx, req, socket, head).catch(() => socket.destroy());
    });
    this.httpServer.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  attach(server: HboneServer): void {
    server.on('streamOpened', (request, stats) => this.opened(request, stats));
    server.on('streamClosed', (request, stats, error) => this.closed(request, stats, error));
  }

  /** The source workload named by `forwarded`, trusted only when its identity is the one mTLS proved. */
  private sourceOf(request: HboneInboundRequest): { workload?: MeshWorkload; addr: string } {
    const fwd = parseForwardedFor(request.headers?.['forwarded'] as string | undefined);
    const candidate = fwd ? this.deps.state.workloadByAddress(fwd.ip) : undefined;
    const workload = candidate && this.deps.state.identityOf(candidate) === request.peerIdentity ? candidate : undefined;
    return { workload, addr: fwd ? `${fwd.ip}:${fwd.port}` : `${request.remoteAddress}:${request.remotePort}` };
  }

  readonly handle = async (request: HboneInboundRequest): Promise<HboneInboundDecision> => {
    const startedAt = Date.now();
    const source = this.sourceOf(request);
    const service = this.deps.state.serviceByAddress(request.host);
    const peers: ConnectionPeers = {
      reporter: 'waypoint',
      source: source.workload,
      sourceIdentity: request.peerIdentity,
      service,
      securityPolicy: 'mutual_tls',
      srcAddr: source.addr,
      dstAddr: request.authority,
      tunnelAddr: this.deps.hboneAddr,
    };
    const trace = this.deps.traces && inboundTrace(this.deps.traces, this.deps.traceName ?? 'waypoint', request, source.addr, 'waypoint');
    if (!service) {
      const reason = `no service with address ${request.host}: the waypoint serves service VIPs only`;
      trace?.record({ step: 'waypoint', verdict: 'FAIL', detail: `CONNECT ${request.authority} answered 400: ${reason}` });
      this.deps.reporter.failed(peers, RESPONSE_FLAGS.connect, startedAt, reason);
      return { status: 400, reason };
    }
    const ctx: TunnelContext = { service, port: request.port, source: source.workload, sourceIdentity: request.peerIdentity, srcAddr: source.addr, ...(trace ? { trace } : {}) };
    const routes = this.deps.routes();
    const [hboneSide, localSide] = socketPair();
    const [ip, port] = [source.addr.slice(0, source.addr.lastIndexOf(':')), Number(source.addr.slice(source.addr.lastIndexOf(':') + 1))];
    localSide.remoteAddress = ip;
    localSide.remotePort = port;
    if (speaksHttp(service, request.port, routes)) {
      trace?.record({
        step: 'waypoint',
        verdict: 'OK',
        detail: `${service.namespace}/${service.hostname} port ${request.port} speaks HTTP: each request is routed on its own (VirtualService http routes, DestinationRule subsets); nothing is dialed before a request arrives`,
        facts: { service: `${service.namespace}/${service.hostname}`, http: true },
      });
      this.tunnels.set(localSide, ctx);
      this.telemetry.set(request, trace ? { peers, startedAt, trace } : { peers, startedAt });
      this.httpServer.emit('connection', localSide);
      return { status: 200, upstream: hboneSide as unknown as Socket };
    }
    return this.tcp(request, ctx, peers, startedAt, hboneSide, localSide, trace);
  };

  /** Non-HTTP: a `tcp` route (by port) picks a weighted destination, or the service's own endpoints. */
  private async tcp(
    request: HboneInboundRequest,
    ctx: TunnelContext,
    peers: ConnectionPeers,
    startedAt: number,
    hboneSide: PairedSocket,
    localSide: PairedSocket,
    trace?: TraceRecorder,
  ): Promise<HboneInboundDecision> {
    const route = selectTcpRoute(this.deps.routes().tcpRoutes(ctx.service.hostname), {
      port: ctx.port,
      sourceLabels: ctx.source?.labels,
      sourceNamespace: ctx.source?.namespace,
    });
    const destination = route ? this.deps.picker.pick(route) : undefined;
    const resolution = this.deps.resolver.resolve(destination, ctx.service, ctx.port);
    if (!resolution.ok) {
      trace?.record({ step: 'waypoint', verdict: 'FAIL', detail: `tcp route for ${ctx.service.hostname} port ${ctx.port}: ${resolution.reason}` });
      this.deps.reporter.failed(peers, RESPONSE_FLAGS.connect, startedAt, resolution.reason);
      return { status: 503, reason: resolution.reason };
    }
    const chosen = `${resolution.endpoint.workload.namespace}/${resolution.endpoint.workload.name} ${resolution.endpoint.workload.addresses[0] ?? '?'}:${resolution.endpoint.targetPort}`;
    trace?.record({
      step: 'waypoint',
      verdict: 'OK',
      detail: `${route ? 'tcp route' : 'no tcp route, the service itself'} → ${resolution.service.hostname}${resolution.subset ? ` subset ${resolution.subset}` : ''}: chose ${chosen}`,
      facts: { endpoint: chosen, ...(resolution.subset ? { subset: resolution.subset } : {}) },
    });
    peers.destination = resolution.endpoint.workload;
    peers.destinationIdentity = this.deps.state.identityOf(resolution.endpoint.workload);
    peers.service = resolution.service;
    let upstream: Duplex;
    try {
      upstream = await this.deps.upstream.connect(resolution.endpoint, trace?.traceparent);
    } catch (err) {
      trace?.record({ step: 'dial', verdict: 'FAIL', detail: `waypoint → ${chosen}: ${(err as Error).message}` });
      this.deps.reporter.failed(peers, RESPONSE_FLAGS.connect, startedAt, (err as Error).message);
      return { status: 503, reason: (err as Error).message };
    }
    trace?.record({ step: 'dial', verdict: 'OK', detail: `waypoint → ${chosen}: connected` });
    void splice(localSide, upstream, newConnectionStats());
    this.telemetry.set(request, trace ? { peers, startedAt, trace } : { peers, startedAt });
    return { status: 200, upstream: hboneSide as unknown as Socket };
  }

  private opened(request: HboneInboundRequest, stats: ConnectionStats): void {
    const t = this.telemetry.get(request);
    if (t) t.tracked = this.deps.reporter.opened(t.peers, stats);
  }

  private closed(request: HboneInboundRequest, stats: ConnectionStats, error?: Error): void {
    const t = this.telemetry.get(request);
    if (!t?.tracked) return;
    this.telemetry.delete(request);
    if (t.trace) traceClosed(t.trace, stats, t.startedAt, error);
    this.deps.reporter.closed(t.peers, t.tracked, t.startedAt, error);
  }
}
