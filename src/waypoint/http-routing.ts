// Per-request L7 routing on a tunnel: VirtualService route → weighted destination → subset endpoint →
// HBONE to it, then the response back; 503 "no healthy upstream" when nothing can take it. Each finished
// request is counted in the HTTP metrics and written to the request log.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TraceRecorder } from '../dataplane/trace/trace-store.js';
import type { Duplex } from 'node:stream';
import type { MeshService, MeshWorkload } from '../api/mesh.js';
import { forwardRequest, forwardUpgrade, sendLocalResponse, UPSTREAM_RESET_BODY, type ForwardOutcome } from '../dataplane/http/forward.js';
import { NO_RESPONSE_FLAGS } from '../dataplane/telemetry/labels.js';
import { destinationAddresses } from '../dataplane/telemetry/access-log.js';
import type { Logger } from '../logging/logger.js';
import type { DestinationResolver, Resolution } from './destination.js';
import { HTTP_RESPONSE_FLAGS, type HttpMetrics } from './http-metrics.js';
import type { PolicyBalancer } from './load-balancer.js';
import type { RequestLogger } from './request-log.js';
import type { RouteTable } from './route-config.js';
import { selectHttpRoute, type HttpRequestFacts, type WeightedDestinationPicker } from './router.js';
import { decodeStringWrites } from '../dataplane/node-compat.js';
import type { UpstreamConnector } from './upstream.js';

/** What the waypoint knows about one inbound HBONE tunnel; shared by every request on it. */
export interface TunnelContext {
  service: MeshService;
  /** The service port the tunnel's `:authority` named. */
  port: number;
  source?: MeshWorkload;
  sourceIdentity: string;
  srcAddr: string;
  /** The tunnel's trace, when its `traceparent` is sampled: every request's route decision is recorded. */
  trace?: TraceRecorder;
}

/** Envoy's body when no endpoint can take a request. */
export const NO_HEALTHY_UPSTREAM_BODY = 'no healthy upstream';

export interface HttpRoutingDeps {
  routes(): RouteTable;
  picker: WeightedDestinationPicker;
  resolver: DestinationResolver;
  balancer: PolicyBalancer;
  upstream: UpstreamConnector;
  metrics: HttpMetrics;
  requestLog: RequestLogger;
  log: Logger;
}

interface Decision {
  routeKey?: string;
  resolution: Resolution;
}

export class HttpRouting {
  constructor(private readonly deps: HttpRoutingDeps) {}

  decide(ctx: TunnelContext, req: IncomingMessage): Decision {
    const facts: HttpRequestFacts = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authority: req.headers.host,
      headers: req.headers,
      port: ctx.port,
      sourceLabels: ctx.source?.labels,
      sourceNamespace: ctx.source?.namespace,
    };
    const route = selectHttpRoute(this.deps.routes().httpRoutes(ctx.service.hostname), facts);
    // A route without destinations (redirect, directResponse: not supported) falls back to the service.
    const destination = route && route.destinations.length > 0 ? this.deps.picker.pick(route) : undefined;
    return { routeKey: route?.key, resolution: this.deps.resolver.resolve(destination, ctx.service, ctx.port) };
  }

  async handle(ctx: TunnelContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    await this.run(ctx, req, (upstream) => forwardRequest(req, res, upstream), (status, body) => sendLocalResponse(res, status, body));
  }

  async handleUpgrade(ctx: TunnelContext, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const local = (status: number, body: string): number => {
      socket.end(`HTTP/1.1 ${status} Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return Buffer.byteLength(body);
    };
    await this.run(ctx, req, (upstream) => forwardUpgrade(req, socket, head, upstream), local);
  }

  private async run(
    ctx: TunnelContext,
    req: IncomingMessage,
    forward: (upstream: Duplex) => Promise<ForwardOutcome>,
    local: (status: number, body: string) => number,
  ): Promise<void> {
    const startedAt = performance.now();
    const { resolution, routeKey } = this.decide(ctx, req);
    const request = `${req.method ?? 'GET'} ${req.url ?? '/'} → ${routeKey ? `route ${routeKey}` : 'no route, the service itself'}`;
    if (!resolution.ok) {
      ctx.trace?.record({ step: 'waypoint', verdict: 'FAIL', detail: `${request}: ${resolution.reason}; answered 503`, facts: { ...(routeKey ? { route: routeKey } : {}), status: 503 } });
      req.resume();
      const bytes = local(503, NO_HEALTHY_UPSTREAM_BODY);
      this.finish(ctx, req, startedAt, routeKey, resolution, { status: 503, requestBytes: 0, responseBytes: bytes }, HTTP_RESPONSE_FLAGS.noHealthyUpstream, resolution.reason);
      return;
    }
    const done = this.deps.balancer.begin(resolution.endpoint);
    try {
      let upstream: Duplex;
      try {
        upstream = decodeStringWrites(await this.deps.upstream.connect(resolution.endpoint, ctx.trace?.traceparent));
      } catch (err) {
        ctx.trace?.record({ step: 'dial', verdict: 'FAIL', detail: `${request}: ${(err as Error).message}; answered 503` });
        req.resume();
        const bytes = local(503, UPSTREAM_RESET_BODY);
        this.finish(ctx, req, startedAt, routeKey, resolution, { status: 503, requestBytes: 0, responseBytes: bytes }, HTTP_RESPONSE_FLAGS.upstreamConnectFailure, (err as Error).message);
        return;
      }
      const w = resolution.endpoint.workload;
      ctx.trace?.record({
        step: 'waypoint',
        verdict: 'OK',
        detail: `${request}${resolution.subset ? ` subset ${resolution.subset}` : ''}: ${w.namespace}/${w.name} ${w.addresses[0] ?? '?'}:${resolution.endpoint.targetPort}`,
        facts: { ...(routeKey ? { route: routeKey } : {}), endpoint: `${w.addresses[0] ?? '?'}:${resolution.endpoint.targetPort}` },
      });
      const outcome = await forward(upstream);
      const flags = !outcome.error
        ? NO_RESPONSE_FLAGS
        : outcome.status === 0
          ? HTTP_RESPONSE_FLAGS.downstreamTerminated
          : HTTP_RESPONSE_FLAGS.upstreamReset;
      this.finish(ctx, req, startedAt, routeKey, resolution, outcome, flags, outcome.error?.message);
    } finally {
      done();
    }
  }

  private finish(
    ctx: TunnelContext,
    req: IncomingMessage,
    startedAt: number,
    routeKey: string | undefined,
    resolution: Resolution,
    outcome: Pick<ForwardOutcome, 'status' | 'requestBytes' | 'responseBytes'>,
    responseFlags: string,
    error?: string,
  ): void {
    const durationMs = performance.now() - startedAt;
    const endpoint = resolution.ok ? resolution.endpoint : undefined;
    const target = endpoint ? this.deps.upstream.target(endpoint) : undefined;
    const service = resolution.service ?? ctx.service;
    this.deps.metrics.record({
      reporter: 'waypoint',
      source: ctx.source,
      sourceIdentity: ctx.sourceIdentity,
      destination: endpoint?.workload,
      destinationIdentity: target?.identity,
      service,
      securityPolicy: 'mutual_tls',
      responseFlags,
      responseCode: outcome.status,
      durationMs,
      requestBytes: outcome.requestBytes,
      responseBytes: outcome.responseBytes,
    });
    this.deps.requestLog.log({
      src: { addr: ctx.srcAddr, workload: ctx.source?.name, namespace: ctx.source?.namespace, identity: ctx.sourceIdentity },
      dst: {
        ...(target && destinationAddresses(target.addr, target.tunnelAddr)),
        service: service.hostname,
        workload: endpoint?.workload.name,
        namespace: endpoint?.workload.namespace,
        identity: target?.identity,
      },
      method: req.method ?? '',
      path: req.url ?? '',
      status: outcome.status,
      route: routeKey,
      responseFlags,
      bytesSent: outcome.responseBytes,
      bytesRecv: outcome.requestBytes,
      durationMs,
      error,
    });
  }
}
