// The client side of LEGACY_ISTIO_MTLS: TLS to a sidecar's INBOUND_PORT as the source workload, ALPN
// istio-peer-exchange, the destination's SPIFFE id verified, then the metadata exchange. Used by node
// proxies and sidecars alike for destinations that run a sidecar.
import { connect, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import type { MeshWorkload } from '../../api/mesh.js';
import { L4meshError } from '../../errors/index.js';
import type { PeerMetadata } from './codec.js';
import { exchangeMetadata, MX_ALPN_WIRE, type ExchangeResult } from './handshake.js';
import type { MxStats } from './stats.js';
import { createHboneSecureContext, hboneClientTlsOptions, type TlsMaterial } from '../tls/secure-context.js';
import { INBOUND_PORT } from '../../config/mesh-constants.js';
import { sidecarServerName } from '../tls/sidecar-server-name.js';

/** A TLS handshake to a sidecar on a local host; beyond this the sidecar is not answering. */
export const DEFAULT_SIDECAR_CONNECT_TIMEOUT_MS = 10_000;
/**
 * Resumable TLS sessions kept per source certificate (one per destination sidecar and SNI name). A
 * resumed handshake skips both certificate chains and signatures — the full one, with Node building the
 * server's certificate into JS objects for the identity check, was most of a sidecar's CPU per connection.
 */
export const MAX_CACHED_SIDECAR_SESSIONS = 1_000;

export interface SidecarDialerOptions {
  /** Key and chain of a source identity; undefined while it has no certificate yet. */
  tlsFor(identity: string): TlsMaterial | undefined;
  /** What to announce for `source` (the workload on whose behalf we connect). */
  metadataFor(source: MeshWorkload, sourceIdentity: string): PeerMetadata;
  /** Our proxy's xDS node id, sent as `x-envoy-peer-metadata-id`. */
  nodeId: string;
  stats: MxStats;
  connectTimeoutMs?: number;
}

export interface SidecarDialRequest {
  source: MeshWorkload;
  sourceIdentity: string;
  destinationIdentity: string;
  /** The destination workload's pod IP (its sidecar listens there on INBOUND_PORT). */
  host: string;
  port?: number;
  /** Service hostname and service port: they name the target in SNI (see server-name.ts). */
  hostname: string;
  servicePort: number;
}

export interface SidecarConnection {
  socket: TLSSocket;
  exchange: ExchangeResult;
}

/** What the dialer keeps per destination (see SidecarDialer.targets). */
class DialTarget {
  session: Buffer | undefined = undefined;
  /** The 'session' listener: the newest ticket replaces the one before. */
  readonly keep = (session: Buffer): void => {
    this.session = session;
  };

  constructor(readonly tlsOptions: ConnectionOptions) {}
}

export class SidecarDialer {
  // One SecureContext per certificate (they are costly to build), dropped with the certificate on rotation.
  private readonly contexts = new WeakMap<TlsMaterial, SecureContext>();
  /**
   * Per source certificate (so a rotated certificate starts afresh), per destination: the TLS options and
   * the latest session ticket. Only the sidecar that issued a ticket can resume it, and it proved the
   * destination identity when it did; any other server answers with a full handshake, checked as usual.
   * The options are shared because Node keeps each socket's connect options, identity check included,
   * for the socket's life.
   */
  private readonly targets = new WeakMap<TlsMaterial, Map<string, DialTarget>>();

  constructor(private readonly options: SidecarDialerOptions) {}

  async dial(request: SidecarDialRequest): Promise<SidecarConnection> {
    const material = this.options.tlsFor(request.sourceIdentity);
    if (!material) {
      throw new L4meshError('L4MESH_ERR_CERTIFICATE', `no certificate for ${request.sourceIdentity} yet — is the control plane's CA reachable?`);
    }
    const port = request.port ?? INBOUND_PORT;
    const where = `sidecar ${request.host}:${port}`;
    const socket = await this.handshake(material, request, port, where);
    try {
      const exchange = await exchangeMetadata(
        socket,
        { metadata: this.options.metadataFor(request.source, request.sourceIdentity), nodeId: this.options.nodeId },
        { stats: this.options.stats },
      );
      return { socket, exchange };
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  /** The destination's record, made on first use and moved to the back of the eviction order on each. */
  private targetFor(material: TlsMaterial, request: SidecarDialRequest, port: number, where: string): DialTarget {
    let targets = this.targets.get(material);
    if (!targets) {
      targets = new Map();
      this.targets.set(material, targets);
    }
    const serverName = sidecarServerName(request.hostname, request.servicePort);
    const key = `${request.destinationIdentity}\n${request.host}:${port}\n${serverName}`;
    let target = targets.get(key);
    if (target) {
      targets.delete(key);
    } else {
      let context = this.contexts.get(material);
      if (!context) {
        context = createHboneSecureContext(material);
        this.contexts.set(material, context);
      }
      target = new DialTarget({ ...hboneClientTlsOptions(context, serverName, request.destinationIdentity, where), ALPNProtocols: MX_ALPN_WIRE });
      if (targets.size >= MAX_CACHED_SIDECAR_SESSIONS) targets.delete(targets.keys().next().value!);
    }
    targets.set(key, target);
    return target;
  }

  private handshake(material: TlsMaterial, request: SidecarDialRequest, port: number, where: string): Promise<TLSSocket> {
    const timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_SIDECAR_CONNECT_TIMEOUT_MS;
    const target = this.targetFor(material, request, port, where);
    return new Promise((resolve, reject) => {
      const socket = connect({ ...target.tlsOptions, host: request.host, port, session: target.session });
      // TLS 1.3 tickets arrive after the handshake, on the connection's first reads. One is enough, and a
      // listener created out here would keep this whole dial reachable for the connection's life.
      socket.once('session', target.keep);
      socket.setNoDelay(true);
      socket.allowHalfOpen = true;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new L4meshError('L4MESH_ERR_CONNECT_TIMEOUT', `TLS connection to ${where} timed out after ${timeoutMs} ms — is the workload's sidecar running?`));
      }, timeoutMs);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        // The caller's splice attaches its own; until then an early reset must not crash the proxy.
        socket.on('error', () => {});
        resolve(socket);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (err instanceof L4meshError) return reject(err);
        const certificate = /CERT|SIGNATURE|ISSUER|SELF_SIGNED|UNABLE_TO/.test(err.code ?? '') || (err.code ?? '').startsWith('ERR_SSL');
        reject(
          new L4meshError(
            certificate ? 'L4MESH_ERR_CERTIFICATE' : 'L4MESH_ERR_NO_HEALTHY_UPSTREAM',
            certificate
              ? `TLS handshake with ${where} failed: ${err.message} — check that both proxies hold certificates from the same mesh root`
              : `cannot connect to ${where}: ${err.code ?? err.message} — is the workload's sidecar running?`,
            { cause: err },
          ),
        );
      });
    });
  }
}
