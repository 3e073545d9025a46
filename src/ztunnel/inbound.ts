// Inbound path (reporter="destination"): an HBONE CONNECT from another proxy → the local destination
// workload → AuthorizationPolicy → TCP to the workload; 401 on denial, 503 when the workload can't be reached.
import type { Socket } from 'node:net';
import type { MeshWorkload } from '../api/mesh.js';
import type { HboneInboundDecision, HboneInboundRequest, HboneServer } from '../dataplane/hbone/server.js';
import { parseForwardedFor } from '../dataplane/hbone/headers.js';
import { authorize } from '../dataplane/rbac.js';
import type { ProxyState } from '../dataplane/state/proxy-state.js';
import type { ConnectionStats, TrackedConnection } from '../dataplane/telemetry/connection-tracker.js';
import { RESPONSE_FLAGS } from '../dataplane/telemetry/labels.js';
import type { Logger } from '../logging/logger.js';
import type { ConnectionTable, OpenConnection } from '../dataplane/connections/connection-table.js';
import { dialTcp } from '../dataplane/dial.js';
import type { ConnectionPeers, ConnectionReporter } from '../dataplane/connections/reporter.js';
import { inboundTarget, type InboundTargetRules } from './inbound-target.js';
import { inboundTrace, traceClosed, tracePolicy } from '../dataplane/trace/path-decisions.js';
import type { TraceRecorder, TraceStore } from '../dataplane/trace/trace-store.js';

export interface InboundDeps extends InboundTargetRules {
  node: string;
  state: ProxyState;
  reporter: ConnectionReporter;
  connections: ConnectionTable;
  log: Logger;
  /** netns mode: connects to the workload from inside its pod's namespace; default a plain dial from here. */
  dialWorkload?(workload: MeshWorkload, host: string, port: number): Promise<Socket>;
  /** Records the decisions of tunnels whose `traceparent` is sampled (an `l4mesh check` probe). */
  traces?: TraceStore;
}

interface InboundContext {
  peers: ConnectionPeers;
  startedAt: number;
  trace?: TraceRecorder;
  tracked?: TrackedConnection;
  entry?: OpenConnection;
}

export class InboundHandler {
  // Keyed by the request object the server passes to the handler and to its stream events.
  private readonly contexts = new WeakMap<HboneInboundRequest, InboundContext>();

  constructor(private readonly deps: InboundDeps) {}

  attach(server: HboneServer): void {
    server.on('streamOpened', (request, stats) => this.opened(request, stats));
    server.on('streamClosed', (request, stats, error) => this.closed(request, stats, error));
  }

  /** The source workload named by `forwarded`, trusted only when its identity is the one mTLS proved. */
  private sourceOf(request: HboneInboundRequest): { workload?: MeshWorkload; ip: string; port: number } {
    const fwd = parseForwardedFor(request.headers?.['forwarded'] as string | undefined);
    const ip = fwd?.ip ?? request.remoteAddress;
    const port = fwd?.port ?? request.remotePort;
    const candidate = fwd ? this.deps.state.workloadByAddress(fwd.ip) : undefined;
    const workload = candidate && this.deps.state.identityOf(candidate) === request.peerIdentity ? candidate : undefined;
    return { workload, ip, port };
  }

  readonly handle = async (request: HboneInboundRequest): Promise<HboneInboundDecision> => {
    const startedAt = Date.now();
    const { state, reporter } = this.deps;
    const source = this.sourceOf(request);
    const checked = inboundTarget(this.deps, request.host, request.port);
    const destination = checked.workload;
    const peers: ConnectionPeers = {
      reporter: 'destination',
      source: source.workload,
      sourceIdentity: request.peerIdentity,
      destination,
      destinationIdentity: request.localIdentity,
      securityPolicy: 'mutual_tls',
      srcAddr: `${source.ip}:${source.port}`,
      dstAddr: request.authority,
      // Where the tunnel arrived: this proxy's listener, or in netns mode the destination pod's IP.
      tunnelAddr: request.localAddress,
    };
    const trace = this.deps.traces && inboundTrace(this.deps.traces, this.deps.node, request, peers.srcAddr);
    if ('refused' in checked || !destination) {
      const reason = 'refused' in checked ? checked.refused : `no workload at ${request.host}`;
      trace?.record({ step: 'tunnel', verdict: 'FAIL', detail: `CONNECT ${request.authority} answered 400: ${reason}` });
      reporter.failed(peers, RESPONSE_FLAGS.connect, startedAt, reason);
      return { status: 400, reason };
    }
    if (state.identityOf(destination) !== request.localIdentity) {
      const reason = `the certificate presented (${request.localIdentity}) is not the identity of ${destination.name} (${state.identityOf(destination)})`;
      trace?.record({ step: 'tunnel', verdict: 'FAIL', detail: `CONNECT ${request.authority} answered 400: ${reason}` });
      reporter.failed(peers, RESPONSE_FLAGS.tlsFailure, startedAt, reason);
      return { status: 400, reason };
    }
    const decision = authorize({
      policies: state.policiesFor(destination),
      sourceIdentity: request.peerIdentity,
      sourceIp: source.ip,
      destinationIp: request.host,
      destinationPort: request.port,
    });
    if (trace) tracePolicy(trace, destination, request.peerIdentity, decision);
    if (!decision.allowed) {
      const reason = `connection denied by authorization policy${decision.policy ? ` ${decision.policy}` : ''}: ${decision.reason}`;
      reporter.failed(peers, RESPONSE_FLAGS.deny, startedAt, reason);
      return { status: 401, reason };
    }
    try {
      const upstream = this.deps.dialWorkload
        ? await this.deps.dialWorkload(destination, request.host, request.port)
        : await dialTcp(request.host, request.port, { pooledReads: true });
      trace?.record({ step: 'dial', verdict: 'OK', detail: `connected to ${destination.namespace}/${destination.name} at ${request.authority}`, facts: { endpoint: request.authority } });
      this.contexts.set(request, trace ? { peers, startedAt, trace } : { peers, startedAt });
      return { status: 200, upstream };
    } catch (err) {
      trace?.record({ step: 'dial', verdict: 'FAIL', detail: `cannot connect to ${destination.namespace}/${destination.name} at ${request.authority}: ${(err as Error).message}`, facts: { endpoint: request.authority, error: (err as Error).message } });
      reporter.failed(peers, RESPONSE_FLAGS.connect, startedAt, (err as Error).message);
      return { status: 503, reason: (err as Error).message };
    }
  };

  private opened(request: HboneInboundRequest, stats: ConnectionStats): void {
    const ctx = this.contexts.get(request);
    if (!ctx) return;
    ctx.tracked = this.deps.reporter.opened(ctx.peers, stats);
    ctx.entry = {
      workload: ctx.peers.destination!.name,
      namespace: ctx.peers.destination!.namespace,
      direction: 'inbound',
      local: request.authority,
      remote: `${request.remoteAddress}:${request.remotePort}`,
      remoteTarget: request.authority,
      protocol: 'HBONE',
      startedAt: ctx.startedAt,
      stats,
    };
    this.deps.connections.add(ctx.entry);
  }

  private closed(request: HboneInboundRequest, stats: ConnectionStats, error?: Error): void {
    const ctx = this.contexts.get(request);
    if (!ctx?.tracked) return;
    this.contexts.delete(request);
    if (ctx.trace) traceClosed(ctx.trace, stats, ctx.startedAt, error);
    if (ctx.entry) this.deps.connections.remove(ctx.entry);
    this.deps.reporter.closed(ctx.peers, ctx.tracked, ctx.startedAt, error);
  }
}
