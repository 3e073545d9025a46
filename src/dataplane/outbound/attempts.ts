// Choosing an upstream and connecting within the connect timeout: a failed attempt is retried on another
// endpoint (the failed destination is ejected for a while), and a service whose endpoints are still
// starting is waited for instead of refused at once.
import { serviceResourceName, type MeshService, type MeshWorkload } from '../../api/mesh.js';
import { L4meshError } from '../../errors/index.js';
import type { CapturedConnection } from '../capture/capture.js';
import type { ConnectionPeers } from '../connections/reporter.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../dial.js';
import type { HboneClientPool } from '../hbone/client-pool.js';
import type { SidecarDialer } from '../mx/legacy-mtls-client.js';
import { OutlierDetector } from '../outlier-detection.js';
import type { ProxyState } from '../state/proxy-state.js';
import type { Logger } from '../../logging/logger.js';
import { endpointKey, RouteResolver, targetKey, type Route } from './route.js';
import { UpstreamDialer, type SourceNamespaces, type Upstream, type UpstreamSource } from './upstream.js';
import { traceRoute, traceUpstream } from '../trace/path-decisions.js';
import type { TraceRecorder } from '../trace/trace-store.js';

/**
 * Attempts per connection. Istio's ztunnel makes one; Envoy's tcp_proxy defaults to one too. Three cover a
 * dead node proxy (ejected as a whole after one failure) plus one dead endpoint, while bounding the load a
 * badly broken mesh multiplies.
 */
export const MAX_CONNECT_ATTEMPTS = 3;

export interface ConnectAttemptsDeps {
  state: ProxyState;
  pool: HboneClientPool;
  log: Logger;
  /** Address of the node proxy of `node` (its HBONE listener host). */
  nodeProxyAddress(node: string): string | undefined;
  /** TLS + istio-peer-exchange to LEGACY_ISTIO_MTLS (sidecar) destinations; without it they are refused. */
  sidecars?: SidecarDialer;
  /** Budget for choosing and reaching an upstream, retries and waiting for an endpoint included. */
  connectTimeoutMs?: number;
  /** netns mode: HBONE to the destination pod IP, every connection made from inside the source pod. */
  fromPod?: SourceNamespaces;
}

/**
 * Which destination a failed attempt speaks against, if any. A refused or unanswered connect blames the hop
 * dialed first (a dead node proxy takes all its endpoints down); a 503 from a live proxy blames the endpoint.
 * Policy denials and certificate problems are answers, not outages: no retry, no ejection.
 */
function blame(err: unknown): 'target' | 'endpoint' | undefined {
  const code = (err as L4meshError).code;
  if (code === 'L4MESH_ERR_PROTOCOL' || code === 'L4MESH_ERR_CONNECT_TIMEOUT') return 'target';
  if (code === 'L4MESH_ERR_NO_HEALTHY_UPSTREAM') return 'endpoint';
  return undefined;
}

function connectTimeout(ms: number): L4meshError {
  return new L4meshError('L4MESH_ERR_CONNECT_TIMEOUT', `no upstream connected within the ${ms} ms connect timeout`);
}

export class ConnectAttempts {
  private readonly outliers = new OutlierDetector();
  private readonly routes: RouteResolver;
  private readonly upstreams: UpstreamDialer;
  private readonly connectTimeoutMs: number;
  /** Connections waiting for a service to get a healthy endpoint (one just deployed); woken by every update. */
  private endpointWaiters = new Set<() => void>();

  constructor(private readonly deps: ConnectAttemptsDeps) {
    this.connectTimeoutMs = deps.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.routes = new RouteResolver({ state: deps.state, outliers: this.outliers, nodeProxyAddress: deps.nodeProxyAddress, sidecars: Boolean(deps.sidecars), hboneToPodIp: Boolean(deps.fromPod) });
    this.upstreams = new UpstreamDialer({ pool: deps.pool, sidecars: deps.sidecars, fromPod: deps.fromPod });
    deps.state.on('change', () => {
      const waiters = this.endpointWaiters;
      this.endpointWaiters = new Set();
      for (const wake of waiters) wake();
    });
  }

  /**
   * Chooses an upstream and connects, within the connect timeout: a failed attempt is retried on another
   * endpoint (the failed destination is ejected for a while), and a service with no healthy endpoint yet
   * (a workload just deployed, not yet pushed here) is waited for instead of refused at once. `peers` is
   * filled in with the chosen destination as it goes, for the caller's telemetry; `trace` (a sampled
   * connection) is told every choice and its outcome.
   */
  async establish(conn: CapturedConnection, service: MeshService, sourceIdentity: string, peers: ConnectionPeers, startedAt: number, trace?: TraceRecorder): Promise<{ upstream: Upstream; route: Route }> {
    const { socket, source } = conn;
    const deadline = startedAt + this.connectTimeoutMs;
    const tried = new Set<string>();
    let lastError: unknown;
    for (let attempt = 1; attempt <= MAX_CONNECT_ATTEMPTS; attempt++) {
      let route: Route;
      try {
        route = this.routes.route(service, conn.destinationPort, tried);
      } catch (err) {
        // After a failed attempt, nothing left to try is that attempt's failure, not a missing endpoint.
        if (tried.size > 0) throw lastError;
        if ((err as L4meshError).code !== 'L4MESH_ERR_NO_HEALTHY_UPSTREAM' || !this.starting(service) || !(await this.endpointUpdate(deadline, socket))) {
          trace?.record({ step: this.deps.state.waypointFor(service) ? 'waypoint' : 'endpoints', verdict: 'FAIL', detail: (err as Error).message });
          throw err;
        }
        attempt--;
        continue;
      }
      peers.destination = route.destination;
      peers.destinationIdentity = route.destinationIdentity;
      peers.dstAddr = route.authority;
      peers.tunnelAddr = route.hbone ? `${route.hbone.host}:${route.hbone.port}` : undefined;
      let reserved: { reused: boolean; streamsOpened: number } | undefined;
      if (trace) traceRoute(trace, this.deps.state, service, conn.destinationPort, route, tried, (e) => this.routes.isEjected(service, conn.destinationPort, e));
      try {
        const from: UpstreamSource = { workload: source, identity: sourceIdentity, clientIp: socket.remoteAddress ?? '', clientPort: socket.remotePort ?? 0 };
        // Set only when traced: untraced connections keep the plain four-field object.
        if (trace) {
          from.traceparent = trace.traceparent;
          from.onReserved = (r) => (reserved = r);
        }
        const upstream = await this.within(deadline, this.upstreams.connect(route, from));
        if (trace) traceUpstream(trace, route, route.destinationIdentity, reserved);
        this.outliers.success(targetKey(route));
        this.outliers.success(endpointKey(route));
        return { upstream, route };
      } catch (err) {
        lastError = err;
        if (trace) traceUpstream(trace, route, route.destinationIdentity, reserved, err);
        const blamed = blame(err);
        if (!blamed || socket.destroyed) throw err;
        const key = blamed === 'target' ? targetKey(route) : endpointKey(route);
        const { ejected, forMs } = this.outliers.failure(key);
        this.deps.log.debug('outbound attempt failed', { src: peers.srcAddr, dst: route.authority, attempt, error: err });
        if (ejected) this.deps.log.info('ejecting an upstream after a failed connect', { upstream: key.slice(key.indexOf(' ') + 1), forMs, error: (err as Error).message });
        tried.add(route.destination.uid);
        if (Date.now() >= deadline) throw err;
      }
    }
    throw lastError;
  }

  /** netns mode: one attempt straight to the workload whose pod IP the client dialled (no service, no retry). */
  async direct(conn: CapturedConnection, destination: MeshWorkload, sourceIdentity: string, peers: ConnectionPeers, startedAt: number, trace?: TraceRecorder): Promise<{ upstream: Upstream; route: Route }> {
    const { socket, source } = conn;
    const route = this.routes.toWorkload(destination, conn.destinationIp, conn.destinationPort);
    peers.destination = route.destination;
    peers.destinationIdentity = route.destinationIdentity;
    peers.dstAddr = route.authority;
    peers.tunnelAddr = route.hbone ? `${route.hbone.host}:${route.hbone.port}` : undefined;
    const from: UpstreamSource = { workload: source, identity: sourceIdentity, clientIp: socket.remoteAddress ?? '', clientPort: socket.remotePort ?? 0 };
    let reserved: { reused: boolean; streamsOpened: number } | undefined;
    if (trace) {
      from.traceparent = trace.traceparent;
      from.onReserved = (r) => (reserved = r);
    }
    try {
      const upstream = await this.within(startedAt + this.connectTimeoutMs, this.upstreams.connect(route, from));
      if (trace) traceUpstream(trace, route, route.destinationIdentity, reserved);
      return { upstream, route };
    } catch (err) {
      if (trace) traceUpstream(trace, route, route.destinationIdentity, reserved, err);
      throw err;
    }
  }

  /**
   * Whether the service has workloads that are not healthy yet (a pod starting, or Ready in the API but not
   * yet pushed here): worth waiting for. A service nothing backs fails at once.
   */
  private starting(service: MeshService): boolean {
    const { state } = this.deps;
    return !state.waypointFor(service) && state.endpointCounts(serviceResourceName(service)).total > 0;
  }

  /** Resolves true at the next state update, false once the deadline passed or the client left. */
  private endpointUpdate(deadline: number, socket: CapturedConnection['socket']): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0 || socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        socket.off('close', gone);
        this.endpointWaiters.delete(wake);
        resolve(true);
      };
      const gone = (): void => {
        clearTimeout(timer);
        this.endpointWaiters.delete(wake);
        resolve(false);
      };
      const timer = setTimeout(gone, left);
      socket.once('close', gone);
      this.endpointWaiters.add(wake);
    });
  }

  /** The attempt, or a connect timeout at `deadline`; an upstream that arrives after that is closed. */
  private within(deadline: number, attempt: Promise<Upstream>): Promise<Upstream> {
    const left = deadline - Date.now();
    return new Promise((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        reject(connectTimeout(this.connectTimeoutMs));
      }, Math.max(1, left));
      attempt.then(
        (upstream) => {
          clearTimeout(timer);
          if (late) upstream.stream.destroy();
          else resolve(upstream);
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (!late) reject(err);
        },
      );
    });
  }
}
