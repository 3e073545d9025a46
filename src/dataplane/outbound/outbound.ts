// Outbound path (reporter="source"): a captured connection → service → endpoint by round robin (or the
// service's waypoint), retried elsewhere within the connect timeout → HBONE tunnel to the endpoint's node
// proxy, TLS + istio-peer-exchange to its sidecar, or plain TCP outside the mesh. Node proxies and sidecars use it.
import type { TLSSocket } from 'node:tls';
import type { L4meshError } from '../../errors/index.js';
import type { CapturedConnection } from '../capture/capture.js';
import type { ConnectionTable } from '../connections/connection-table.js';
import type { ConnectionPeers, ConnectionReporter } from '../connections/reporter.js';
import { newConnectionStats } from '../connection-stats.js';
import { workloadFromPeerMetadata } from '../mx/peer-metadata.js';
import { spliceAfterExchange } from '../mx/splice-after-exchange.js';
import { splice } from '../splice.js';
import { RESPONSE_FLAGS } from '../telemetry/labels.js';
import { ConnectAttempts, type ConnectAttemptsDeps } from './attempts.js';
import type { Route } from './route.js';
import type { Upstream } from './upstream.js';
import { traceCapture, traceClosed, traceResolved, type OutboundTracing } from '../trace/path-decisions.js';
import type { TraceRecorder } from '../trace/trace-store.js';

export interface OutboundDeps extends ConnectAttemptsDeps {
  reporter: ConnectionReporter;
  connections: ConnectionTable;
  /** Records the decisions of connections armed for a trace (admin POST /debug/trace). */
  tracing?: OutboundTracing;
}

function ignoreError(): void {}

/**
 * A connection the mesh cannot carry ends with a reset, as ztunnel's does: a plain destroy sends a FIN
 * when the client has not written yet, which a client reads as the server closing an accepted connection.
 */
function refuse(socket: CapturedConnection['socket']): void {
  if (socket.destroyed) return;
  socket.resetAndDestroy();
}

function responseFlagsOf(err: unknown): string {
  const code = (err as L4meshError).code;
  if (code === 'L4MESH_ERR_POLICY_DENIED') return RESPONSE_FLAGS.deny;
  if (code === 'L4MESH_ERR_IDENTITY_MISMATCH' || code === 'L4MESH_ERR_CERTIFICATE') return RESPONSE_FLAGS.tlsFailure;
  return RESPONSE_FLAGS.connect;
}

export class OutboundHandler {
  private readonly attempts: ConnectAttempts;

  constructor(private readonly deps: OutboundDeps) {
    this.attempts = new ConnectAttempts(deps);
  }

  handle(conn: CapturedConnection): void {
    const startedAt = Date.now();
    const { socket, source, service } = conn;
    const { state } = this.deps;
    const sourceIdentity = state.identityOf(source);
    const srcAddr = `${socket.remoteAddress}:${socket.remotePort}`;
    const peers: ConnectionPeers = {
      reporter: 'source',
      source,
      sourceIdentity,
      service,
      securityPolicy: 'unknown',
      srcAddr,
      dstAddr: `${conn.destinationIp}:${conn.destinationPort}`,
    };
    // Until the upstream is ready, an early RST from the client must not crash the proxy. (A shared
    // function: a closure here would keep this call's whole scope alive for the connection's life.)
    socket.on('error', ignoreError);
    // Only a connection armed for a trace pays for recording; the rest cost one size check.
    const { tracing } = this.deps;
    const traceId = tracing?.store.claim(srcAddr);
    const trace = traceId ? tracing!.store.recorder(traceId, tracing!.proxy, 'outbound') : undefined;
    // netns mode sees the original destination: a pod IP of the mesh goes to that pod, not through a service.
    const direct = !service && this.deps.fromPod ? state.workloadByAddress(conn.destinationIp) : undefined;
    if (trace) {
      traceCapture(trace, tracing!, socket, source, sourceIdentity);
      traceResolved(trace, service, conn.destinationIp, conn.destinationPort, direct);
    }
    if (!service && !direct) {
      this.deps.reporter.failed(peers, RESPONSE_FLAGS.connect, startedAt, this.deps.fromPod ? `no service or workload at ${peers.dstAddr}` : 'no service for this listener');
      refuse(socket);
      return;
    }
    const attempt = service ? this.attempts.establish(conn, service, sourceIdentity, peers, startedAt, trace) : this.attempts.direct(conn, direct!, sourceIdentity, peers, startedAt, trace);
    attempt.then(
      ({ upstream, route }) => {
        // On the sidecar path the destination's labels are the ones it announced, not the registry's.
        if (upstream.exchange?.peer) peers.destination = workloadFromPeerMetadata(upstream.exchange.peer);
        this.forward(socket, upstream, peers, route, startedAt, trace);
      },
      (err: unknown) => {
        const noEndpoint = (err as L4meshError).code === 'L4MESH_ERR_NO_HEALTHY_UPSTREAM' && !peers.destination && service !== undefined && !state.waypointFor(service);
        this.deps.reporter.failed(peers, responseFlagsOf(err), startedAt, noEndpoint ? 'no healthy upstream' : (err as Error).message);
        refuse(socket);
      },
    );
  }

  private forward(socket: CapturedConnection['socket'], upstream: Upstream, peers: ConnectionPeers, route: Route, startedAt: number, trace?: TraceRecorder): void {
    if (socket.destroyed) {
      upstream.stream.destroy();
      return;
    }
    const stats = newConnectionStats(startedAt);
    const tracked = this.deps.reporter.opened(peers, stats);
    const entry = {
      workload: peers.source!.name,
      namespace: peers.source!.namespace,
      direction: 'outbound' as const,
      local: peers.srcAddr,
      remote: route.hbone ? `${route.hbone.host}:${route.hbone.port}` : route.sidecar ? `${route.sidecar.host}:${route.sidecar.port}` : route.authority,
      remoteTarget: route.authority,
      protocol: route.hbone ? ('HBONE' as const) : ('TCP' as const),
      startedAt,
      stats,
    };
    this.deps.connections.add(entry);
    const spliced = upstream.exchange
      ? spliceAfterExchange(socket, upstream.stream, stats, upstream.stream as TLSSocket, upstream.exchange)
      : splice(socket, upstream.stream, stats);
    spliced.then((outcome) => {
      if (trace) traceClosed(trace, stats, startedAt, outcome.error);
      this.deps.connections.remove(entry);
      this.deps.reporter.closed(peers, tracked, startedAt, outcome.error);
    });
  }
}
