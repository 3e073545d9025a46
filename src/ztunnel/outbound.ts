// Outbound path (reporter="source"): a captured connection → service → endpoint by round robin (or the
// service's waypoint) → HBONE tunnel to the endpoint's node proxy, TLS + istio-peer-exchange to the
// endpoint's sidecar, or plain TCP for workloads outside the mesh. Used by node proxies and sidecars.
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { MeshService, MeshWorkload } from '../api/mesh.js';
import { serviceResourceName } from '../api/mesh.js';
import { L4meshError } from '../errors/index.js';
import type { CapturedConnection } from '../dataplane/capture/capture.js';
import type { HboneClientPool } from '../dataplane/hbone/client-pool.js';
import { formatBaggage, hboneRequestHeaders, workloadBaggage } from '../dataplane/hbone/headers.js';
import { formatHboneAuthority } from '../dataplane/hbone/authority.js';
import { RoundRobinBalancer, selectEndpoint } from '../dataplane/lb.js';
import type { Endpoint, ProxyState } from '../dataplane/state/proxy-state.js';
import { splice } from '../dataplane/splice.js';
import { newConnectionStats } from '../dataplane/connection-stats.js';
import { RESPONSE_FLAGS } from '../dataplane/telemetry/labels.js';
import type { Logger } from '../logging/logger.js';
import type { ConnectionTable } from './connections.js';
import { dialTcp } from './dial.js';
import type { ConnectionPeers, ConnectionReporter } from './reporting.js';
import { PORTS } from './config.js';
import type { ExchangeResult } from '../dataplane/mx/handshake.js';
import type { SidecarDialer } from '../sidecar/legacy-mtls-client.js';
import { SIDECAR_PORTS } from '../sidecar/config.js';
import { workloadFromPeerMetadata } from '../sidecar/peer-metadata.js';
import { spliceAfterExchange } from '../sidecar/splice-after-exchange.js';

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
}

interface Route {
  destination: MeshWorkload;
  destinationIdentity: string;
  /** Where the bytes go: `ip:port` of the endpoint (or the service VIP:port through a waypoint). */
  authority: string;
  hbone?: { host: string; port: number; node: string };
  /** The destination's sidecar (:15006 at its pod IP) and the service port SNI names there. */
  sidecar?: { host: string; port: number; hostname: string; servicePort: number };
}

/** The upstream side of a connection; `exchange` when it is a sidecar's TLS socket after the peer exchange. */
interface Upstream {
  stream: Duplex;
  exchange?: ExchangeResult;
}

function ignoreError(): void {}

function responseFlagsOf(err: unknown): string {
  const code = (err as L4meshError).code;
  if (code === 'L4MESH_ERR_POLICY_DENIED') return RESPONSE_FLAGS.deny;
  if (code === 'L4MESH_ERR_IDENTITY_MISMATCH' || code === 'L4MESH_ERR_CERTIFICATE') return RESPONSE_FLAGS.tlsFailure;
  return RESPONSE_FLAGS.connect;
}

export class OutboundHandler {
  private readonly balancer = new RoundRobinBalancer();
  /** Baggage per source workload object (a new object arrives with every change to the workload). */
  private readonly baggage = new WeakMap<MeshWorkload, string>();

  constructor(private readonly deps: OutboundDeps) {}

  /** Chooses where a connection to `service:port` goes; throws an L4meshError the caller logs. */
  route(service: MeshService, port: number): Route {
    const { state } = this.deps;
    const waypoint = state.waypointFor(service);
    if (waypoint) {
      const wp = this.balancer.pick(`waypoint|${serviceResourceName(service)}`, waypoint.endpoints);
      if (!wp) {
        throw new L4meshError('L4MESH_ERR_NO_HEALTHY_UPSTREAM', `no healthy waypoint for service ${service.hostname} (waypoint ${waypoint.gateway.hostname?.hostname ?? '?'})`);
      }
      const vip = service.addresses[0];
      if (!vip) throw new L4meshError('L4MESH_ERR_NO_HEALTHY_UPSTREAM', `service ${service.hostname} has no VIP to send through its waypoint`);
      const host = wp.workload.addresses[0]!;
      return {
        destination: wp.workload,
        destinationIdentity: state.identityOf(wp.workload),
        authority: formatHboneAuthority(vip, port),
        hbone: { host, port: waypoint.gateway.hboneMtlsPort || PORTS.hbone, node: `waypoint/${host}` },
      };
    }
    const endpoint: Endpoint = selectEndpoint(state, this.balancer, serviceResourceName(service), port);
    const dst = endpoint.workload;
    const ip = dst.addresses[0]!;
    const authority = formatHboneAuthority(ip, endpoint.targetPort);
    const destinationIdentity = state.identityOf(dst);
    if (dst.tunnelProtocol === 'NONE') return { destination: dst, destinationIdentity, authority };
    if (dst.tunnelProtocol === 'LEGACY_ISTIO_MTLS') {
      if (!this.deps.sidecars) {
        throw new L4meshError('L4MESH_ERR_PROTOCOL', `destination ${dst.name} runs a sidecar (LEGACY_ISTIO_MTLS); this proxy was started without istio-peer-exchange`);
      }
      return { destination: dst, destinationIdentity, authority, sidecar: { host: ip, port: SIDECAR_PORTS.inbound, hostname: service.hostname, servicePort: port } };
    }
    const proxy = this.deps.nodeProxyAddress(dst.node);
    if (!proxy) {
      throw new L4meshError('L4MESH_ERR_NO_HEALTHY_UPSTREAM', `no node proxy known for node "${dst.node}" of ${dst.name} — is "l4mesh ztunnel --node ${dst.node}" running?`);
    }
    return { destination: dst, destinationIdentity, authority, hbone: { host: proxy, port: PORTS.hbone, node: dst.node } };
  }

  handle(conn: CapturedConnection): void {
    const startedAt = Date.now();
    const { socket, source, service } = conn;
    const { state, log } = this.deps;
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
      socket.destroy();
      return;
    }
    let route: Route;
    try {
      route = this.route(service, conn.destinationPort);
    } catch (err) {
      const reason = (err as L4meshError).code === 'L4MESH_ERR_NO_HEALTHY_UPSTREAM' && !state.waypointFor(service) ? 'no healthy upstream' : (err as Error).message;
      this.deps.reporter.failed(peers, RESPONSE_FLAGS.connect, startedAt, reason);
      socket.destroy();
      return;
    }
    peers.destination = route.destination;
    peers.destinationIdentity = route.destinationIdentity;
    peers.dstAddr = route.authority;
    if (route.hbone) peers.hboneAddr = `${route.hbone.host}:${route.hbone.port}`;
    this.connect(route, source, sourceIdentity, socket.remoteAddress ?? '', socket.remotePort ?? 0).then(
      (upstream) => {
        // On the sidecar path the destination's labels are the ones it announced, not the registry's.
        if (upstream.exchange?.peer) peers.destination = workloadFromPeerMetadata(upstream.exchange.peer);
        this.forward(socket, upstream, peers, route, startedAt);
      },
      (err: unknown) => {
        log.debug('outbound connection failed', { src: srcAddr, dst: route.authority, error: err });
        this.deps.reporter.failed(peers, responseFlagsOf(err), startedAt, (err as Error).message);
        socket.destroy();
      },
    );
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
