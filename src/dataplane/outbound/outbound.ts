// Outbound path (reporter="source"): a captured connection → service → endpoint by round robin (or the
// service's waypoint), retried elsewhere within the connect timeout → HBONE tunnel to the endpoint's node
// proxy, TLS + istio-peer-exchange to its sidecar, or plain TCP outside the mesh. Node proxies and sidecars use it.
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { serviceResourceName, type MeshService, type MeshWorkload } from '../../api/mesh.js';
import { L4meshError } from '../../errors/index.js';
import type { CapturedConnection } from '../capture/capture.js';
import type { HboneClientPool } from '../hbone/client-pool.js';
import { formatBaggage, hboneRequestHeaders, workloadBaggage } from '../hbone/headers.js';
import { OutlierDetector } from '../outlier-detection.js';
import type { ProxyState } from '../state/proxy-state.js';
import { splice } from '../splice.js';
import { newConnectionStats } from '../connection-stats.js';
import { RESPONSE_FLAGS } from '../telemetry/labels.js';
import type { Logger } from '../../logging/logger.js';
import type { ConnectionTable } from '../connections/connection-table.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, dialTcp } from '../dial.js';
import { endpointKey, RouteResolver, targetKey, type Route } from './route.js';
import type { ConnectionPeers, ConnectionReporter } from '../connections/reporter.js';
import type { ExchangeResult } from '../mx/handshake.js';
import type { SidecarDialer } from '../mx/legacy-mtls-client.js';
import { workloadFromPeerMetadata } from '../mx/peer-metadata.js';
import { spliceAfterExchange } from '../mx/splice-after-exchange.js';

export interface OutboundDeps {
  state: ProxyState;
  pool: HboneClientPool;
  reporter: ConnectionReporter;
  connections: ConnectionTable;
  log: Logger;
  /** Address of the node proxy of `node` (its HBONE listener host). */
  nodeProxyAddress(node: string): string | undefined;
  /** TLS + istio-peer-exchange to LEGACY_ISTIO_MTLS (sidecar) destinations; without it they are refused. */
  sidecars?: SidecarDialer;
  /** Budget for choosing and reaching an upstream, retries and waiting for an endpoint included. */
  connectTimeoutMs?: number;
}

/**
 * Attempts per connection. Istio's ztunnel makes one; Envoy's tcp_proxy defaults to one too. Three cover a
 * dead node proxy (ejected as a whole after one failure) plus one dead endpoint, while bounding the load a
 * badly broken mesh multiplies.
 */
export const MAX_CONNECT_ATTEMPTS = 3;

/** The upstream side of a connection; `exchange` when it is a sidecar's TLS socket after the peer exchange. */
interface Upstream {
  stream: Duplex;
  exchange?: ExchangeResult;
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

export class OutboundHandler {
  private readonly outliers = new OutlierDetector();
  private readonly routes: RouteResolver;
  private readonly connectTimeoutMs: number;
  /** Connections waiting for a service to get a healthy endpoint (one just deployed); woken by every update. */
  private endpointWaiters = new Set<() => void>();
  /** Baggage per source workload object (a new object arrives with every change to the workload). */
  private readonly baggage = new WeakMap<MeshWorkload, string>();

  constructor(private readonly deps: OutboundDeps) {
    this.connectTimeoutMs = deps.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.routes = new RouteResolver({ state: deps.state, outliers: this.outliers, nodeProxyAddress: deps.nodeProxyAddress, sidecars: Boolean(deps.sidecars) });
    deps.state.on('change', () => {
      const waiters = this.endpointWaiters;
      this.endpointWaiters = new Set();
      for (const wake of waiters) wake();
    });
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
    if (!service) {
      this.deps.reporter.failed(peers, RESPONSE_FLAGS.connect, startedAt, 'no service for this listener');
      refuse(socket);
      return;
    }
    this.establish(conn, service, sourceIdentity, peers, startedAt).then(
      ({ upstream, route }) => {
        // On the sidecar path the destination's labels are the ones it announced, not the registry's.
        if (upstream.exchange?.peer) peers.destination = workloadFromPeerMetadata(upstream.exchange.peer);
        this.forward(socket, upstream, peers, route, startedAt);
      },
      (err: unknown) => {
        const noEndpoint = (err as L4meshError).code === 'L4MESH_ERR_NO_HEALTHY_UPSTREAM' && !peers.destination && !state.waypointFor(service);
        this.deps.reporter.failed(peers, responseFlagsOf(err), startedAt, noEndpoint ? 'no healthy upstream' : (err as Error).message);
        refuse(socket);
      },
    );
  }

  /**
   * Chooses an upstream and connects, within the connect timeout: a failed attempt is retried on another
   * endpoint (the failed destination is ejected for a while), and a service with no healthy endpoint yet
   * (a workload just deployed, not yet pushed here) is waited for instead of refused at once.
   */
  private async establish(conn: CapturedConnection, service: MeshService, sourceIdentity: string, peers: ConnectionPeers, startedAt: number): Promise<{ upstream: Upstream; route: Route }> {
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
        if ((err as L4meshError).code !== 'L4MESH_ERR_NO_HEALTHY_UPSTREAM' || !this.starting(service) || !(await this.endpointUpdate(deadline, socket))) throw err;
        attempt--;
        continue;
      }
      peers.destination = route.destination;
      peers.destinationIdentity = route.destinationIdentity;
      peers.dstAddr = route.authority;
      peers.hboneAddr = route.hbone ? `${route.hbone.host}:${route.hbone.port}` : undefined;
      try {
        const upstream = await this.within(deadline, this.connect(route, source, sourceIdentity, socket.remoteAddress ?? '', socket.remotePort ?? 0));
        this.outliers.success(targetKey(route));
        this.outliers.success(endpointKey(route));
        return { upstream, route };
      } catch (err) {
        lastError = err;
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

  private async connect(route: Route, source: MeshWorkload, sourceIdentity: string, clientIp: string, clientPort: number): Promise<Upstream> {
    if (route.sidecar && this.deps.sidecars) {
      const { socket, exchange } = await this.deps.sidecars.dial({
        source,
        sourceIdentity,
        destinationIdentity: route.destinationIdentity,
        host: route.sidecar.host,
        port: route.sidecar.port,
        hostname: route.sidecar.hostname,
        servicePort: route.sidecar.servicePort,
      });
      return { stream: socket, exchange };
    }
    if (!route.hbone) {
      const [ip, port] = splitAuthority(route.authority);
      return { stream: await dialTcp(ip, port, { pooledReads: true }) };
    }
    const stream = await this.deps.pool.connect({
      srcIdentity: sourceIdentity,
      dstIdentity: route.destinationIdentity,
      dstNode: route.hbone.node,
      proxyAddress: { host: route.hbone.host, port: route.hbone.port },
      authority: route.authority,
      // `forwarded` names the source workload by its pod IP: in local mode the client's socket address is
      // 127.0.0.1, which would tell the destination nothing.
      headers: hboneRequestHeaders(
        this.baggageOf(source),
        { ip: source.addresses[0] ?? clientIp, port: clientPort },
      ),
    });
    return { stream };
  }

  private baggageOf(source: MeshWorkload): string {
    let baggage = this.baggage.get(source);
    if (baggage === undefined) {
      baggage = formatBaggage(workloadBaggage(source));
      this.baggage.set(source, baggage);
    }
    return baggage;
  }

  private forward(socket: CapturedConnection['socket'], upstream: Upstream, peers: ConnectionPeers, route: Route, startedAt: number): void {
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
      this.deps.connections.remove(entry);
      this.deps.reporter.closed(peers, tracked, startedAt, outcome.error);
    });
  }
}

function splitAuthority(authority: string): [string, number] {
  const i = authority.lastIndexOf(':');
  return [authority.slice(0, i).replace(/^\[|\]$/g, ''), Number(authority.slice(i + 1))];
}
