// The inbound HBONE listener (HBONE_PORT): terminates mutual TLS, accepts HTTP/2 CONNECT streams, asks a
// handler (policy, upstream connect) what to do with each, and splices accepted streams to the workload.
import { EventEmitter } from 'node:events';
import { constants as h2, createSecureServer, type Http2Session, type IncomingHttpHeaders } from 'node:http2';
import { Socket, type AddressInfo } from 'node:net';
import type { SecureContext, TlsOptions, TLSSocket } from 'node:tls';
import { L4meshError } from '../../errors/index.js';
import { fdPressure } from '../admin/fd-pressure.js';
import { newConnectionStats, type ConnectionStats } from '../connection-stats.js';
import { splice } from '../splice.js';
import { localSpiffeId, peerSpiffeId } from '../tls/peer-identity.js';
import { HBONE_TLS_MIN_VERSION } from '../tls/secure-context.js';
import { formatHboneAuthority, parseHboneAuthority } from './authority.js';
import { DEFAULT_PING_TIMING, PingWatch, pingTimeoutError, sweepEveryMs, type PingTiming } from './liveness.js';
import { H2SecureServer } from './h2/server.js';
import type { H2Stream } from './h2/stream.js';
import { HBONE_MAX_SESSION_MEMORY_MB, HBONE_SERVER_HTTP2_SETTINGS, HBONE_SESSION_WINDOW_BYTES } from './settings.js';
import { HBONE_PORT } from '../../config/mesh-constants.js';
import { DEFAULT_HBONE_TRANSPORT, HBONE_L4MESH_SESSION_OPTIONS, type HboneSession, type HboneStream, type HboneTransport } from './transport.js';

/** An accepted CONNECT stream of either transport: respond() answers it. */
type InboundStream = HboneStream & {
  readonly session: unknown;
  respond(headers: { ':status': number }, options?: { endStream?: boolean }): void;
};

/** How long `close()` lets open tunnels finish before cutting them, when the caller does not say. */
export const DEFAULT_HBONE_CLOSE_GRACE_MS = 5_000;

/** The local identities this proxy can present, looked up by the SNI the client sent. */
export interface HboneIdentities {
  /** May resolve later: a workload that just arrived can have its certificate on the way. */
  secureContextFor(serverName: string): SecureContext | undefined | Promise<SecureContext | undefined>;
}

export interface HboneInboundRequest {
  /** `:authority` as sent, e.g. `10.0.0.5:9080`. */
  authority: string;
  host: string;
  port: number;
  /**
   * The CONNECT request's headers, for the handler's decision; undefined once it has answered. A tunnel that
   * stays open does not keep them: Node builds them as a dictionary-mode object (~1 KiB per tunnel in a heap
   * snapshot of 2,000 idle connections).
   */
  headers: IncomingHttpHeaders | undefined;
  /** SPIFFE id from the client certificate (verified against the mesh root). */
  peerIdentity: string;
  /** SPIFFE id of the certificate this proxy presented (chosen by SNI). */
  localIdentity: string;
  /** Address of the source node proxy (not of the original client; that is in `forwarded`). */
  remoteAddress: string;
  remotePort: number;
  /** `ip:port` the tunnel arrived at: this proxy's HBONE listener, or in netns mode the destination pod's. */
  localAddress: string;
}

export type HboneInboundDecision =
  | { status: 200; upstream: Socket }
  | { status: 400 | 401 | 503; reason: string };

export interface HboneServerOptions {
  host: string;
  port?: number;
  identities: HboneIdentities;
  handler: (request: HboneInboundRequest) => Promise<HboneInboundDecision>;
  /** PING interval and deadlines of inbound connections (tests shorten them). */
  ping?: PingTiming;
  /** Which HTTP/2 implementation terminates the connections (`--hbone-transport`); default DEFAULT_HBONE_TRANSPORT. */
  transport?: HboneTransport;
  /**
   * A listening socket made elsewhere (netns mode: inside a pod's namespace) to accept on instead of
   * binding host:port here; `host` then only names it.
   */
  listenFd?: number;
}

/** Events, so telemetry and access logs observe tunnels without sitting in the copy loop. */
export interface HboneServerEvents {
  /** A mutual-TLS HTTP/2 connection from another proxy was established. */
  sessionOpened: (session: { peerIdentity: string; localIdentity: string; remoteAddress: string }) => void;
  /** A tunnel was accepted (200 sent); `stats` is updated in place while bytes flow. */
  streamOpened: (request: HboneInboundRequest, stats: ConnectionStats) => void;
  streamClosed: (request: HboneInboundRequest, stats: ConnectionStats, error?: Error) => void;
  /** A CONNECT was answered with a non-200 status; `request` is absent when it was malformed. */
  streamRejected: (request: HboneInboundRequest | undefined, status: number, reason: string) => void;
  /** A TLS handshake failed (unknown SNI, certificate from another root, no client certificate, ...). */
  handshakeFailed: (error: Error, remoteAddress: string | undefined) => void;
}

interface SessionInfo {
  peerIdentity: string;
  localIdentity: string;
  remoteAddress: string;
  remotePort: number;
  /** `ip:port` of this end: where the tunnel arrived, the access log's dst.addr. */
  localAddress: string;
  /** A client that stopped answering PINGs is cut, so its tunnels' upstream sockets do not stay open forever. */
  liveness: PingWatch;
}

export interface HboneServer {
  on<E extends keyof HboneServerEvents>(event: E, listener: HboneServerEvents[E]): this;
  once<E extends keyof HboneServerEvents>(event: E, listener: HboneServerEvents[E]): this;
  off<E extends keyof HboneServerEvents>(event: E, listener: HboneServerEvents[E]): this;
  emit<E extends keyof HboneServerEvents>(event: E, ...args: Parameters<HboneServerEvents[E]>): boolean;
}

export class HboneServer extends EventEmitter {
  private readonly options: HboneServerOptions;
  /** node:http2's secure server, or our TLS listener running the h2/ layer. */
  private readonly server: ReturnType<typeof createSecureServer> | H2SecureServer;
  private readonly sessions = new Map<HboneSession, SessionInfo>();
  private readonly openStreams = new Set<InboundStream>();
  /** The splices of open tunnels: close() resolves once the last one has closed both its sides. */
  private readonly splices = new Set<Promise<unknown>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: HboneServerOptions) {
    super();
    this.options = options;
    const tls: TlsOptions = {
      minVersion: HBONE_TLS_MIN_VERSION,
      requestCert: true,
      rejectUnauthorized: true,
      // Each identity's context carries the mesh root, which is what verifies the client certificate.
      SNICallback: (serverName, callback) => {
        const refuse = () => callback(new L4meshError('L4MESH_ERR_CERTIFICATE', `no local workload identity for TLS server name "${serverName}"`));
        const context = options.identities.secureContextFor(serverName);
        if (!(context instanceof Promise)) return context ? callback(null, context) : refuse();
        context.then((c) => (c ? callback(null, c) : refuse()), refuse);
      },
    };
    const onStream = (stream: InboundStream, headers: IncomingHttpHeaders): void => this.onStream(stream, headers);
    if ((options.transport ?? DEFAULT_HBONE_TRANSPORT) === 'l4mesh') {
      // Our layer sets TCP_NODELAY, advertises MAX_CONCURRENT_STREAMS and refuses streams beyond it itself.
      const server = new H2SecureServer(tls, HBONE_L4MESH_SESSION_OPTIONS);
      this.server = server;
      fdPressure.watch(server.tls, 'inbound_hbone', 'data');
      server.on('session', (session: HboneSession) => this.onSession(session));
      server.on('stream', (stream: H2Stream, headers: IncomingHttpHeaders) => onStream(stream as InboundStream, headers));
    } else {
      const server = createSecureServer({
        ...tls,
        allowHTTP1: false,
        // Includes SETTINGS_MAX_CONCURRENT_STREAMS: nghttp2 refuses streams beyond it (REFUSED_STREAM).
        settings: HBONE_SERVER_HTTP2_SETTINGS,
        maxSessionMemory: HBONE_MAX_SESSION_MEMORY_MB,
      });
      this.server = server;
      // Tunnelled applications do their own batching; Nagle here would only add latency per frame.
      server.on('secureConnection', (socket: TLSSocket) => socket.setNoDelay(true));
      // Out of file descriptors, new HBONE connections are shed and counted like the other data listeners'.
      fdPressure.watch(server, 'inbound_hbone', 'data');
      server.on('session', (session) => {
        session.setLocalWindowSize(HBONE_SESSION_WINDOW_BYTES);
        this.onSession(session as unknown as HboneSession);
      });
      server.on('stream', (stream, headers) => onStream(stream as unknown as InboundStream, headers));
    }
    this.server.on('tlsClientError', (err: Error, socket: TLSSocket) => this.emit('handshakeFailed', err, socket.remoteAddress));
    this.sweeper = setInterval(() => {
      for (const info of this.sessions.values()) info.liveness.check();
    }, sweepEveryMs(options.ping ?? DEFAULT_PING_TIMING));
    this.sweeper.unref();
  }

  listen(): Promise<void> {
    const { listenFd } = this.options;
    const where = listenFd !== undefined ? { fd: listenFd } : { port: this.options.port ?? HBONE_PORT, host: this.options.host };
    if (this.server instanceof H2SecureServer) return this.server.listen(where);
    const server = this.server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(where, () => {
        server.off('error', onError);
        resolve();
      });
    });
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Number of tunnels currently spliced. */
  get openStreamCount(): number {
    return this.openStreams.size;
  }

  /** Stops accepting, lets open tunnels run for up to `graceMs`, then cuts what is left. */
  async close(graceMs = DEFAULT_HBONE_CLOSE_GRACE_MS): Promise<void> {
    clearInterval(this.sweeper);
    const server = this.server;
    const closed = server instanceof H2SecureServer ? server.close() : new Promise<void>((resolve) => server.close(() => resolve()));
    // GOAWAY: clients stop sending new streams here; streams already open keep running.
    for (const session of this.sessions.keys()) session.close();
    const deadline = setTimeout(() => {
      for (const stream of this.openStreams) stream.close(h2.NGHTTP2_CANCEL);
      for (const session of this.sessions.keys()) session.destroy();
    }, graceMs);
    try {
      await closed;
      await Promise.all([...this.splices]);
    } finally {
      clearTimeout(deadline);
    }
  }

  private onSession(session: HboneSession): void {
    const socket = session.socket as TLSSocket;
    const peerIdentity = peerSpiffeId(socket);
    const localIdentity = localSpiffeId(socket);
    if (!peerIdentity || !localIdentity) {
      // The chain verified, but a mesh certificate carries exactly one SPIFFE id; refuse anything else.
      const error = new L4meshError(
        'L4MESH_ERR_CERTIFICATE',
        `client certificate from ${socket.remoteAddress} has no single spiffe:// URI SAN`,
      );
      this.emit('handshakeFailed', error, socket.remoteAddress);
      session.destroy();
      return;
    }
    const timing = this.options.ping ?? DEFAULT_PING_TIMING;
    const info: SessionInfo = {
      peerIdentity,
      localIdentity,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress: formatHboneAuthority(socket.localAddress ?? this.options.host, socket.localPort ?? this.options.port ?? HBONE_PORT),
      liveness: new PingWatch(session, timing, {
        // (The session's socket is unbound by then: the peer is named from what was read at the start.)
        onDead: () => session.destroy(pingTimeoutError(`${info.remoteAddress}:${info.remotePort}`, timing.timeoutMs)),
      }),
    };
    this.sessions.set(session, info);
    session.on('close', () => {
      info.liveness.stop();
      this.sessions.delete(session);
    });
    session.on('error', () => {
      // Reported through the streams it breaks; the session itself is simply gone.
    });
    this.emit('sessionOpened', { peerIdentity, localIdentity, remoteAddress: info.remoteAddress });
  }

  private onStream(stream: InboundStream, headers: IncomingHttpHeaders): void {
    const info = this.sessions.get(stream.session as HboneSession);
    if (!info) {
      stream.close(h2.NGHTTP2_REFUSED_STREAM);
      return;
    }
    // A peer reset before the splice starts must not become an unhandled 'error'.
    stream.on('error', () => {});
    if (headers[':method'] !== 'CONNECT') {
      this.reject(stream, undefined, 400, `method ${String(headers[':method'])} is not CONNECT`);
      return;
    }
    const authority = headers[':authority'] ?? '';
    const target = parseHboneAuthority(authority);
    if (!target) {
      this.reject(stream, undefined, 400, `:authority "${authority}" is not ip:port`);
      return;
    }
    const request: HboneInboundRequest = {
      authority,
      host: target.host,
      port: target.port,
      headers,
      peerIdentity: info.peerIdentity,
      localIdentity: info.localIdentity,
      remoteAddress: info.remoteAddress,
      remotePort: info.remotePort,
      localAddress: info.localAddress,
    };
    this.options.handler(request).then(
      (decision) => {
        request.headers = undefined;
        if (decision.status === 200) this.accept(stream, request, decision.upstream);
        else this.reject(stream, request, decision.status, decision.reason);
      },
      (err: unknown) => this.reject(stream, request, 503, `handler failed: ${(err as Error)?.message ?? err}`),
    );
  }

  private accept(stream: InboundStream, request: HboneInboundRequest, upstream: Socket): void {
    if (stream.destroyed || stream.closed) {
      // The client gave up while the upstream was being connected.
      upstream.resetAndDestroy();
      return;
    }
    upstream.setNoDelay(true);
    stream.respond({ ':status': 200 });
    const stats = newConnectionStats();
    this.openStreams.add(stream);
    this.emit('streamOpened', request, stats);
    const spliced = splice(stream, upstream, stats).then((outcome) => {
      this.openStreams.delete(stream);
      this.splices.delete(spliced);
      this.emit('streamClosed', request, stats, outcome.error);
    });
    this.splices.add(spliced);
  }

  private reject(
    stream: InboundStream,
    request: HboneInboundRequest | undefined,
    status: number,
    reason: string,
  ): void {
    this.emit('streamRejected', request, status, reason);
    if (stream.destroyed || stream.closed) return;
    stream.respond({ ':status': status }, { endStream: true });
  }
}
