// The sidecar's inbound path (reporter="destination"): mutual TLS on INBOUND_PORT → istio-peer-exchange as the
// server → the target from the TLS server name → AuthorizationPolicy → TCP to the workload's pod IP.
// The source's telemetry labels come from the metadata the peer sent; without it, from the registry by IP.
import type { TLSSocket } from 'node:tls';
import type { MeshService, MeshWorkload } from '../api/mesh.js';
import type { PeerMetadata } from '../dataplane/mx/codec.js';
import { exchangeMetadata, type ExchangeResult } from '../dataplane/mx/handshake.js';
import type { MxStats } from '../dataplane/mx/stats.js';
import { authorize } from '../dataplane/rbac.js';
import type { ProxyState } from '../dataplane/state/proxy-state.js';
import { peerSpiffeId } from '../dataplane/tls/peer-identity.js';
import { newConnectionStats } from '../dataplane/connection-stats.js';
import { RESPONSE_FLAGS } from '../dataplane/telemetry/labels.js';
import type { Logger } from '../logging/logger.js';
import type { ConnectionTable } from '../dataplane/connections/connection-table.js';
import { dialTcp } from '../dataplane/dial.js';
import type { ConnectionPeers, ConnectionReporter } from '../dataplane/connections/reporter.js';
import { workloadFromPeerMetadata } from '../dataplane/mx/peer-metadata.js';
import { parseSidecarServerName } from '../dataplane/tls/sidecar-server-name.js';
import { spliceAfterExchange } from '../dataplane/mx/splice-after-exchange.js';

export interface SidecarInboundDeps {
  state: ProxyState;
  /** The workload this sidecar serves, once xDS has delivered it. */
  self(): MeshWorkload | undefined;
  /** Our announcement: the workload's metadata and our node id; undefined until the workload is known. */
  local(): { metadata: PeerMetadata; nodeId: string } | undefined;
  stats: MxStats;
  reporter: ConnectionReporter;
  connections: ConnectionTable;
  log: Logger;
  exchangeTimeoutMs?: number;
}

/** Where a connection goes on the workload: the service it asked for and the port behind it. */
interface InboundTarget {
  service?: MeshService;
  targetPort: number;
}

export class SidecarInbound {
  constructor(private readonly deps: SidecarInboundDeps) {}

  /** For the TLS server's 'secureConnection' event. */
  readonly handle = (socket: TLSSocket): void => {
    void this.run(socket);
  };

  private async run(socket: TLSSocket): Promise<void> {
    const startedAt = Date.now();
    const { deps } = this;
    // The exchange removes its own error listener when it settles; until the splice owns the socket, this one keeps a reset from crashing us.
    socket.on('error', () => {});
    const remoteIp = socket.remoteAddress ?? '';
    const self = deps.self();
    const peers: ConnectionPeers = {
      reporter: 'destination',
      sourceIdentity: peerSpiffeId(socket),
      destination: self,
      destinationIdentity: self ? deps.state.identityOf(self) : undefined,
      securityPolicy: 'mutual_tls',
      srcAddr: `${remoteIp}:${socket.remotePort}`,
      dstAddr: `${socket.localAddress}:${socket.localPort}`,
    };
    const local = deps.local();
    if (!self || !local) return this.fail(socket, peers, RESPONSE_FLAGS.connect, startedAt, 'the sidecar has not received its workload from the control plane yet');

    let exchange: ExchangeResult;
    try {
      exchange = await exchangeMetadata(socket, local, { stats: deps.stats, timeoutMs: deps.exchangeTimeoutMs });
    } catch (err) {
      peers.source = deps.state.workloadByAddress(remoteIp);
      return this.fail(socket, peers, RESPONSE_FLAGS.connect, startedAt, (err as Error).message);
    }
    peers.source = exchange.peer ? workloadFromPeerMetadata(exchange.peer) : deps.state.workloadByAddress(remoteIp);
    if (exchange.outcome !== 'metadata') deps.log.debug('no peer metadata, labels from the registry', { src: peers.srcAddr, outcome: exchange.outcome });

    const target = this.targetOf(self, socket.servername);
    if (typeof target === 'string') return this.fail(socket, peers, RESPONSE_FLAGS.connect, startedAt, target);
    if (target.service) peers.service = target.service;
    const ip = self.addresses[0] ?? socket.localAddress ?? '';
    peers.dstAddr = `${ip}:${target.targetPort}`;

    const decision = authorize({
      policies: deps.state.policiesFor(self),
      sourceIdentity: peers.sourceIdentity,
      sourceIp: remoteIp,
      destinationIp: ip,
      destinationPort: target.targetPort,
    });
    if (!decision.allowed) {
      const reason = `connection denied by authorization policy${decision.policy ? ` ${decision.policy}` : ''}: ${decision.reason}`;
      return this.fail(socket, peers, RESPONSE_FLAGS.deny, startedAt, reason);
    }
    let upstream;
    try {
      upstream = await dialTcp(ip, target.targetPort, { pooledReads: true });
    } catch (err) {
      return this.fail(socket, peers, RESPONSE_FLAGS.connect, startedAt, (err as Error).message);
    }
    if (socket.destroyed) {
      upstream.destroy();
      return;
    }
    const stats = newConnectionStats(startedAt);
    const tracked = deps.reporter.opened(peers, stats);
    const entry = {
      workload: self.name,
      namespace: self.namespace,
      direction: 'inbound' as const,
      local: peers.dstAddr,
      remote: peers.srcAddr,
      remoteTarget: peers.dstAddr,
      protocol: 'TCP' as const,
      startedAt,
      stats,
    };
    deps.connections.add(entry);
    const outcome = await spliceAfterExchange(socket, upstream, stats, socket, exchange);
    deps.connections.remove(entry);
    deps.reporter.closed(peers, tracked, startedAt, outcome.error);
  }

  /**
   * The TLS server name names the service and service port (server-name.ts); the workload's own
   * service bindings give the target port. A string is the reason to refuse.
   */
  private targetOf(self: MeshWorkload, serverName: string | false | null | undefined): InboundTarget | string {
    const parsed = parseSidecarServerName(serverName);
    if (!parsed) {
      return `TLS server name "${serverName || ''}" does not name a target: a sidecar expects outbound_.<service port>_.<subset>_.<service hostname>`;
    }
    const key = Object.keys(self.services).find((k) => k.slice(k.indexOf('/') + 1) === parsed.hostname);
    const mapping = key ? self.services[key]!.find((p) => p.servicePort === parsed.servicePort) : undefined;
    if (!key || !mapping) return `${self.name} does not back ${parsed.hostname} port ${parsed.servicePort}`;
    return { service: this.deps.state.serviceByKey(key), targetPort: mapping.targetPort || mapping.servicePort };
  }

  private fail(socket: TLSSocket, peers: ConnectionPeers, flags: string, startedAt: number, reason: string): void {
    this.deps.reporter.failed(peers, flags, startedAt, reason);
    socket.destroy();
  }
}
