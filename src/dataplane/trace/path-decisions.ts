// The decisions proxies record for a traced connection: the source proxy's (capture, service, the endpoint
// round robin chose and why the others were not, the tunnel, its end) and the receiving proxy's (the tunnel
// it accepted, the policy decision naming policy and rule).
import { serviceResourceName, type MeshService, type MeshWorkload } from '../../api/mesh.js';
import type { L4meshError } from '../../errors/index.js';
import type { Route } from '../outbound/route.js';
import type { Endpoint, ProxyState } from '../state/proxy-state.js';
import type { HboneInboundRequest } from '../hbone/server.js';
import { TRACEPARENT_HEADER } from '../hbone/headers.js';
import type { AuthorizationDecision } from '../rbac.js';
import { isSampledTraceparent, parseTraceparent, type TraceRecorder, type TraceStep, type TraceStore } from './trace-store.js';

/** How a role's outbound path records traced connections; absent, nothing is traced. */
export interface OutboundTracing {
  store: TraceStore;
  /** The proxy's name in the records (`node-1`). */
  proxy: string;
  /** How workloads' connections reach this proxy: local mode's listeners or netns's in-pod redirect. */
  captureMode: 'local' | 'netns';
}

const name = (w: MeshWorkload) => `${w.namespace}/${w.name}`;
const endpointText = (e: Endpoint) => `${name(e.workload)} ${e.workload.addresses[0] ?? '?'}:${e.targetPort}`;

export function traceCapture(trace: TraceRecorder, tracing: OutboundTracing, socket: { localAddress?: string; localPort?: number }, source: MeshWorkload, sourceIdentity: string): void {
  const listener = `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`;
  trace.record({
    step: 'capture',
    verdict: 'OK',
    detail: `${tracing.captureMode === 'local' ? 'local-mode outbound listener' : 'in-pod redirect to'} ${listener} on ${tracing.proxy}: source ${name(source)} (${sourceIdentity})`,
    facts: { mode: tracing.captureMode, listener, source: name(source), identity: sourceIdentity },
  });
}

/** The service the connection's destination resolved to; netns mode's pod IP dialled directly names its workload. */
export function traceResolved(trace: TraceRecorder, service: MeshService | undefined, ip: string, port: number, workload?: MeshWorkload): void {
  if (!service && workload) {
    trace.record({ step: 'resolve', verdict: 'OK', detail: `${ip}:${port} → workload ${name(workload)} (its pod IP, dialled directly)`, facts: { workload: name(workload), port } });
    return;
  }
  if (!service) {
    trace.record({ step: 'resolve', verdict: 'FAIL', detail: `no service for ${ip}:${port} on this listener` });
    return;
  }
  trace.record({
    step: 'resolve',
    verdict: 'OK',
    detail: `${ip}:${port} → service ${serviceResourceName(service)} (VIP ${service.addresses[0] ?? 'none'}) port ${port}`,
    facts: { service: serviceResourceName(service), vip: service.addresses[0] ?? '', port },
  });
}

/**
 * The attempt's choice: the waypoint, or the endpoint round robin chose among the healthy ones, and why each
 * other backing workload was not taken (not healthy, already tried by this connection, ejected after failures).
 */
export function traceRoute(trace: TraceRecorder, state: ProxyState, service: MeshService, port: number, route: Route, tried: ReadonlySet<string>, ejected: (e: Endpoint) => boolean): void {
  if (route.hbone?.node.startsWith('waypoint/')) {
    trace.record({
      step: 'waypoint',
      verdict: 'OK',
      detail: `through waypoint ${name(route.destination)} at ${route.hbone.host}:${route.hbone.port} for ${route.authority}`,
      facts: { waypoint: name(route.destination), address: `${route.hbone.host}:${route.hbone.port}` },
    });
    return;
  }
  const key = serviceResourceName(service);
  const healthy = state.endpointsOf(key, port);
  const counts = state.endpointCounts(key);
  const skipped: string[] = [];
  for (const e of healthy) {
    if (e.workload.uid === route.destination.uid) continue;
    if (tried.has(e.workload.uid)) skipped.push(`${endpointText(e)} (failed earlier on this connection)`);
    else if (ejected(e)) skipped.push(`${endpointText(e)} (ejected after failed connects)`);
  }
  if (counts.total > counts.healthy) skipped.push(`${counts.total - counts.healthy} not healthy`);
  const chosen = `${name(route.destination)} ${route.authority}`;
  trace.record({
    step: 'endpoints',
    verdict: 'OK',
    detail: `round robin chose ${chosen} of ${healthy.length} healthy${skipped.length > 0 ? `; skipped: ${skipped.join(', ')}` : ''}`,
    facts: { endpoint: route.authority, workload: name(route.destination), healthy: healthy.length, total: counts.total },
  });
}

/** Which hop an attempt's error speaks about. */
function stepOf(err: unknown): TraceStep {
  const code = (err as L4meshError).code;
  if (code === 'L4MESH_ERR_POLICY_DENIED') return 'policy';
  if (code === 'L4MESH_ERR_NO_HEALTHY_UPSTREAM') return 'dial';
  return 'tunnel';
}

export function traceUpstream(trace: TraceRecorder, route: Route, destinationIdentity: string, reserved: { reused: boolean; streamsOpened: number } | undefined, err?: unknown): void {
  const how = route.hbone
    ? `HBONE to ${route.hbone.node} (${route.hbone.host}:${route.hbone.port}), ${reserved ? (reserved.reused ? `reused connection (stream ${reserved.streamsOpened})` : 'new connection') : 'no connection'}`
    : route.sidecar
      ? `TLS + istio-peer-exchange to the sidecar at ${route.sidecar.host}:${route.sidecar.port}`
      : `plain TCP to ${route.authority} (destination outside the mesh)`;
  const facts = { via: route.hbone ? 'hbone' : route.sidecar ? 'sidecar' : 'tcp', authority: route.authority, ...(reserved ? { reused: reserved.reused } : {}) };
  if (err) {
    const step = stepOf(err);
    if (step !== 'tunnel' && reserved) trace.record({ step: 'tunnel', verdict: 'OK', detail: `${how}, peer identity ${destinationIdentity} verified`, facts: { ...facts, peer: destinationIdentity } });
    trace.record({ step, verdict: 'FAIL', detail: `${how}: ${(err as Error).message}`, facts: { ...facts, error: (err as Error).message } });
    return;
  }
  const peer = route.hbone || route.sidecar ? `, peer identity ${destinationIdentity} verified${reserved?.reused ? ' when the connection was opened' : ' in the TLS handshake'}` : '';
  trace.record({ step: 'tunnel', verdict: 'OK', detail: `${how}${peer}`, facts: { ...facts, ...(peer ? { peer: destinationIdentity } : {}) } });
  if (route.hbone) {
    const who = route.hbone.node.startsWith('waypoint/') ? 'the waypoint took the tunnel (it routes what arrives)' : 'the destination proxy reached the workload';
    trace.record({ step: 'dial', verdict: 'OK', detail: `CONNECT ${route.authority} answered 200: ${who}`, facts: { status: 200 } });
  }
}

/**
 * The connection's end: bytes each way (client→server `received`, server→client `sent`, as the metrics count
 * them). An error at close (a reset after the answer) is told, not judged: the tunnel's own steps decided.
 */
export function traceClosed(trace: TraceRecorder, stats: { received: number; sent: number }, openedAt: number, error?: Error): void {
  trace.record({
    step: 'bytes',
    verdict: error ? 'INFO' : 'OK',
    detail: `closed after ${Date.now() - openedAt}ms: ${stats.received} bytes client→server, ${stats.sent} bytes server→client${error ? `; ${error.message}` : ''}`,
    facts: { received: stats.received, sent: stats.sent },
  });
}

/** A recorder when the CONNECT carries a sampled `traceparent` (its first decision: the accepted tunnel), else undefined. */
export function inboundTrace(store: TraceStore, proxy: string, request: HboneInboundRequest, srcAddr: string, direction: 'inbound' | 'waypoint' = 'inbound'): TraceRecorder | undefined {
  const header = request.headers?.[TRACEPARENT_HEADER];
  if (!isSampledTraceparent(header)) return undefined;
  const trace = store.recorder(parseTraceparent(header)!.traceId, proxy, direction);
  trace.record({
    step: 'tunnel',
    verdict: 'OK',
    detail: `HBONE CONNECT ${request.authority} from ${request.remoteAddress}:${request.remotePort} for ${srcAddr}: peer identity ${request.peerIdentity} (mTLS, verified against the mesh root), presented ${request.localIdentity}`,
    facts: { authority: request.authority, peer: request.peerIdentity, local: request.localIdentity, source: srcAddr },
  });
  return trace;
}

/** The first decision of a traced plaintext connection into INBOUND_PORT: who it came from, where it asked to go. */
export function tracePlaintextAccepted(trace: TraceRecorder, remote: string, requested: string, source: MeshWorkload | undefined): void {
  trace.record({
    step: 'tunnel',
    verdict: 'INFO',
    detail: `plaintext from ${remote}${source ? ` (${name(source)}, outside the mesh)` : ''} for ${requested}: no mTLS, no peer identity`,
    facts: { source: remote, authority: requested },
  });
}

export function tracePolicy(trace: TraceRecorder, destination: MeshWorkload, peerIdentity: string | undefined, decision: AuthorizationDecision): void {
  const by = decision.policy ? ` by ${decision.policy}${decision.rule !== undefined ? ` rule ${decision.rule}` : ''}` : '';
  trace.record({
    step: 'policy',
    verdict: decision.allowed ? 'OK' : 'FAIL',
    detail: `${decision.allowed ? 'allowed' : 'denied'}${by} for ${destination.namespace}/${destination.name}: ${decision.reason} (source ${peerIdentity ?? 'plaintext, no principal'})`,
    facts: { allowed: decision.allowed, ...(decision.policy ? { policy: decision.policy } : {}), ...(decision.rule !== undefined ? { rule: decision.rule } : {}), reason: decision.reason },
  });
}
