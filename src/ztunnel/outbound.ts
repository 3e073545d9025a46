// Outbound path (reporter="source"): a captured connection → service → endpoint by round robin (or the
// service's waypoint) → HBONE tunnel to the endpoint's node proxy, or plain TCP for workloads outside the mesh.
import type { Duplex } from 'node:stream';
import type { MeshService, MeshWorkload } from '../api/mesh.js';
import { serviceResourceName } from '../api/mesh.js';
import { L4meshError } from '../errors/index.js';
import type { CapturedConnection } from '../dataplane/capture/capture.js';
import type { HboneClientPool } from '../dataplane/hbone/client-pool.js';
import { hboneRequestHeaders } from '../dataplane/hbone/headers.js';
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

export interface OutboundDeps {
  state: ProxyState;
  pool: HboneClientPool;
  reporter: ConnectionReporter;
  connections: ConnectionTable;
  log: Logger;
  /** Address of the node proxy of `node` (its HBONE listener host). */
  nodeProxyAddress(node: string): string | undefined;
}

interface Route {
  destination: MeshWorkload;
  destinationIdentity: string;
  /** Where the bytes go: `ip:port` of the endpoint (or the service VIP:port through a waypoint). */
  authority: string;
  hbone?: { host: string; port: number; node: string };
}

function responseFlagsOf(err: unknown): string {
  const code = (err as L4meshError).code;
  if (code === 'L4MESH_ERR_POLICY_DENIED') return RESPONSE_FLAGS.deny;
  if (code === 'L4MESH_ERR_IDENTITY_MISMATCH' || code === 'L4MESH_ERR_CERTIFICATE') return RESPONSE_FLAGS.tlsFailure;
  return RESPONSE_FLAGS.connect;
}

export class OutboundHandler {
  private readonly balancer = new RoundRobinBalancer();

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
      throw new L4meshError('L4MESH_ERR_PROTOCOL', `destination ${dst.name} runs a sidecar (LEGACY_ISTIO_MTLS); this node proxy does not speak istio-peer-exchange yet`);
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
    // Until the upstream is ready, an early RST from the client must not crash the proxy.
    socket.on('error', () => {});
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
      (upstream) => this.forward(socket, upstream, peers, route, startedAt),
      (err: unknown) => {
        log.debug('outbound connection failed', { src: srcAddr, dst: route.authority, error: err });
        this.deps.reporter.failed(peers, responseFlagsOf(err), startedAt, (err as Error).message);
        socket.destroy();
      },
    );
  }

  private connect(route: Route, source: MeshWorkload, sourceIdentity: string, clientIp: string, clientPort: number): Promise<Duplex> {
    if (!route.hbone) {
      const [ip, port] = splitAuthority(route.authority);
      return dialTcp(ip, port);
    }
    return this.deps.pool.connect({
      srcIdentity: sourceIdentity,
      dstIdentity: route.destinationIdentity,
      dstNode: route.hbone.node,
      proxyAddress: { host: route.hbone.host, port: route.hbone.port },
      authority: route.authority,
      // `forwarded` names the source workload by its pod IP: in local mode the client's socket address is
      // 127.0.0.1, which would tell the destination nothing.
      headers: hboneRequestHeaders(
        {
          clusterId: source.clusterId,
          namespace: source.namespace,
          workloadName: source.workloadName,
          workloadType: source.workloadType.toLowerCase(),
          serviceName: source.canonicalName,
          serviceVersion: source.canonicalRevision,
        },
        { ip: source.addresses[0] ?? clientIp, port: clientPort },
      ),
    });
  }

  private forward(socket: CapturedConnection['socket'], upstream: Duplex, peers: ConnectionPeers, route: Route, startedAt: number): void {
    if (socket.destroyed) {
      upstream.destroy();
      return;
    }
    const stats = newConnectionStats(startedAt);
    const tracked = this.deps.reporter.opened(peers, stats);
    const entry = {
      workload: peers.source!.name,
      namespace: peers.source!.namespace,
      direction: 'outbound' as const,
      local: peers.srcAddr,
      remote: route.hbone ? `${route.hbone.host}:${route.hbone.port}` : route.authority,
      remoteTarget: route.authority,
      protocol: route.hbone ? ('HBONE' as const) : ('TCP' as const),
      startedAt,
      stats,
    };
    this.deps.connections.add(entry);
    splice(socket, upstream, stats).then((outcome) => {
      this.deps.connections.remove(entry);
      this.deps.reporter.closed(peers, tracked, startedAt, outcome.error);
    });
  }
}

function splitAuthority(authority: string): [string, number] {
  const i = authority.lastIndexOf(':');
  return [authority.slice(0, i).replace(/^\[|\]$/g, ''), Number(authority.slice(i + 1))];
}
