// Telemetry of one proxied connection: the istio_tcp_* series (through the tracker) and the access-log
// line, built once at open and once at close — never per chunk.
import { destinationAddresses, type AccessLogger } from '../telemetry/access-log.js';
import type { ConnectionStats, ConnectionTracker, TrackedConnection } from '../telemetry/connection-tracker.js';
import { tcpLabels, type TcpLabelInput } from '../telemetry/labels.js';
import type { ConnectionTelemetry } from '../telemetry/telemetry-config.js';

/** Who is on each end (the metric labels' inputs, without the outcome's flags) and the log's addresses. */
export interface ConnectionPeers extends Omit<TcpLabelInput, 'responseFlags'> {
  /** Access-log addresses (the log shows the destination's two as ztunnel does, see destinationAddresses). */
  srcAddr: string;
  /** The target: `ip:port` of the workload, or of the service VIP a waypoint gets (the CONNECT authority when tunnelled). */
  dstAddr: string;
  /** Where the HBONE tunnel goes (`ip:HBONE_PORT`), when the connection is tunnelled. */
  tunnelAddr?: string;
}

export class ConnectionReporter {
  constructor(
    private readonly tracker: ConnectionTracker,
    private readonly accessLog: AccessLogger,
    /** Telemetry API policies and open-connection bookkeeping (src/dataplane/telemetry/telemetry-config.ts). */
    private readonly telemetry?: ConnectionTelemetry,
  ) {}

  opened(peers: ConnectionPeers, stats: ConnectionStats): TrackedConnection {
    this.completeService(peers);
    const tracked = this.tracker.open(tcpLabels(peers), stats, this.telemetry?.policyFor(peers));
    this.telemetry?.connectionOpened(tracked.labels);
    return tracked;
  }

  closed(peers: ConnectionPeers, tracked: TrackedConnection, startedAt: number, error?: Error): void {
    if (!tracked.closed) this.telemetry?.connectionClosed(tracked.labels);
    this.tracker.close(tracked);
    this.log(peers, tracked.stats, startedAt, error?.message);
  }

  /** A connection that never reached its destination: counted in connections_failed_total, logged at error. */
  failed(peers: ConnectionPeers, responseFlags: string, startedAt: number, reason: string): void {
    this.completeService(peers);
    this.tracker.fail(tcpLabels({ ...peers, responseFlags }), this.telemetry?.policyFor(peers));
    this.log(peers, { received: 0, sent: 0 }, startedAt, reason);
  }

  /**
   * An inbound connection names a pod address, not a service: fill `service` in (on the caller's object,
   * so the close-time access-log line sees it too) from the destination workload's service bindings.
   */
  private completeService(peers: ConnectionPeers): void {
    if (peers.reporter !== 'destination' || peers.service || !peers.destination) return;
    const service = this.telemetry?.inboundService?.(peers.destination, peers.dstAddr);
    if (service) peers.service = service;
  }

  private log(peers: ConnectionPeers, stats: ConnectionStats, startedAt: number, error?: string): void {
    const outbound = peers.reporter === 'source';
    // Named, not spread: a spread of the two shapes destinationAddresses returns made every later field of
    // `dst` a slow-path store, the largest entry of ours in the connection-rate profile.
    const { addr, hboneAddr } = destinationAddresses(peers.dstAddr, peers.tunnelAddr);
    this.accessLog.log({
      src: {
        addr: peers.srcAddr,
        workload: peers.source?.name,
        namespace: peers.source?.namespace,
        identity: peers.sourceIdentity,
      },
      dst: {
        addr,
        hboneAddr,
        service: peers.service?.hostname,
        workload: peers.destination?.name,
        namespace: peers.destination?.namespace,
        identity: peers.destinationIdentity,
      },
      direction: outbound ? 'outbound' : 'inbound',
      // ztunnel's log takes the local workload's point of view: an outbound line's bytes_sent is what the
      // client sent, an inbound line's bytes_sent is what the server sent.
      bytesSent: outbound ? stats.received : stats.sent,
      bytesRecv: outbound ? stats.sent : stats.received,
      durationMs: Date.now() - startedAt,
      error,
    });
  }
}
