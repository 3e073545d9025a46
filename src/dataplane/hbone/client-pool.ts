// Outbound HBONE: a pool of mutual-TLS HTTP/2 connections to node proxies, keyed by
// (source identity, destination identity, destination node), handing out CONNECT streams.
import { constants as h2, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { SecureContext } from 'node:tls';
import { L4meshError } from '../../errors/index.js';
import { createHboneSecureContext, type TlsMaterial } from '../tls/secure-context.js';
import { connectTimeoutError, describeTarget, dialHbone } from './dial.js';

/** A TLS handshake plus the far side's upstream connect; beyond this the destination is not answering. */
export const DEFAULT_HBONE_CONNECT_TIMEOUT_MS = 10_000;
/** Streams per connection before another connection is opened: spreads load, bounds head-of-line loss. */
export const DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION = 100;
/** An idle pooled connection is kept this long so bursts reuse it instead of paying a handshake. */
export const DEFAULT_HBONE_IDLE_TIMEOUT_MS = 300_000;

export interface HboneClientPoolOptions {
  /** The key, chain and root to present as `srcIdentity`; undefined when it has no certificate yet. */
  tlsFor(srcIdentity: string): TlsMaterial | undefined;
  connectTimeoutMs?: number;
  maxStreamsPerConnection?: number;
  idleTimeoutMs?: number;
}

export interface HboneConnectRequest {
  srcIdentity: string;
  dstIdentity: string;
  /** Name of the destination node; part of the pool key. */
  dstNode: string;
  /** The destination node proxy's HBONE listener. */
  proxyAddress: { host: string; port: number };
  /** `ip:port` of the destination workload. */
  authority: string;
  /** `baggage`, `forwarded`, `traceparent` (see headers.ts). */
  headers: Record<string, string>;
}

export interface HboneKeyStats {
  srcIdentity: string;
  dstIdentity: string;
  dstNode: string;
  sessions: number;
  openStreams: number;
}

interface PooledSession {
  session: ClientHttp2Session;
  /** Streams handed out or being set up; counted before the response so concurrent callers see it. */
  streams: number;
  idleTimer?: NodeJS.Timeout;
  usable: boolean;
}

interface PoolEntry {
  srcIdentity: string;
  dstIdentity: string;
  dstNode: string;
  sessions: PooledSession[];
  /** The one dial in progress for this key; others wait for it instead of dialing too. */
  dialing?: Promise<void>;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `HboneClientPool option ${name} must be a positive number, got ${value}`);
  }
  return value;
}

function statusError(status: number, authority: string, where: string): L4meshError {
  if (status === 401 || status === 403) {
    return new L4meshError('L4MESH_ERR_POLICY_DENIED', `connection to ${authority} via ${where} was denied by the destination's authorization policy (HTTP ${status})`);
  }
  if (status === 503) {
    return new L4meshError('L4MESH_ERR_NO_HEALTHY_UPSTREAM', `destination proxy ${where} could not connect to ${authority} (HTTP 503) — is the workload listening on that port?`);
  }
  return new L4meshError('L4MESH_ERR_PROTOCOL', `destination proxy ${where} answered CONNECT ${authority} with HTTP ${status}`);
}

export class HboneClientPool {
  private readonly tlsFor: (srcIdentity: string) => TlsMaterial | undefined;
  private readonly connectTimeoutMs: number;
  private readonly maxStreams: number;
  private readonly idleTimeoutMs: number;
  private readonly entries = new Map<string, PoolEntry>();
  /** Contexts per material object: a rotated certificate is a new object, hence a new context. */
  private readonly contexts = new WeakMap<TlsMaterial, SecureContext>();
  private closed = false;

  constructor(options: HboneClientPoolOptions) {
    this.tlsFor = options.tlsFor;
    this.connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs, DEFAULT_HBONE_CONNECT_TIMEOUT_MS);
    this.maxStreams = positive('maxStreamsPerConnection', options.maxStreamsPerConnection, DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION);
    this.idleTimeoutMs = positive('idleTimeoutMs', options.idleTimeoutMs, DEFAULT_HBONE_IDLE_TIMEOUT_MS);
  }

  /** Opens a CONNECT tunnel; resolves with the stream once the destination answered 200. */
  async connect(request: HboneConnectRequest): Promise<ClientHttp2Stream> {
    if (this.closed) throw new L4meshError('L4MESH_ERR_PROTOCOL', 'the HBONE client pool is closed');
    const where = describeTarget(request.proxyAddress);
    const deadline = Date.now() + this.connectTimeoutMs;
    const pooled = await this.reserve(request, where);
    return this.openStream(pooled, request, where, Math.max(1, deadline - Date.now()));
  }

  stats(): HboneKeyStats[] {
    return [...this.entries.values()].map((e) => ({
      srcIdentity: e.srcIdentity,
      dstIdentity: e.dstIdentity,
      dstNode: e.dstNode,
      sessions: e.sessions.length,
      openStreams: e.sessions.reduce((n, s) => n + s.streams, 0),
    }));
  }

  /** Closes every pooled connection; open streams finish first (HTTP/2 GOAWAY). */
  async close(): Promise<void> {
    this.closed = true;
    const waits: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      for (const pooled of entry.sessions) {
        clearTimeout(pooled.idleTimer);
        pooled.usable = false;
        if (pooled.session.closed || pooled.session.destroyed) continue;
        waits.push(new Promise((resolve) => pooled.session.close(() => resolve())));
      }
    }
    this.entries.clear();
    await Promise.all(waits);
  }

  /** A session of the key with a free stream slot, dialing one (once per key at a time) if needed. */
  private async reserve(request: HboneConnectRequest, where: string): Promise<PooledSession> {
    const key = `${request.srcIdentity}\n${request.dstIdentity}\n${request.dstNode}`;
    for (;;) {
      // Looked up every round: the entry may have been dropped while this caller waited.
      let entry = this.entries.get(key);
      if (!entry) {
        entry = { srcIdentity: request.srcIdentity, dstIdentity: request.dstIdentity, dstNode: request.dstNode, sessions: [] };
        this.entries.set(key, entry);
      }
      const free = entry.sessions.find((s) => s.usable && s.streams < this.streamLimit(s));
      if (free) {
        free.streams++;
        clearTimeout(free.idleTimer);
        free.idleTimer = undefined;
        return free;
      }
      if (!entry.dialing) {
        const dialed = entry;
        const dialing = this.dial(dialed, request, where);
        dialed.dialing = dialing;
        const done = (): void => {
          dialed.dialing = undefined;
          // A key whose dial failed and that has no connection left is not worth listing in stats().
          if (dialed.sessions.length === 0 && this.entries.get(key) === dialed) this.entries.delete(key);
        };
        void dialing.then(done, done);
      }
      // Callers waiting on a failed dial fail with the same error instead of dialing again at once.
      await entry.dialing;
      if (this.closed) throw new L4meshError('L4MESH_ERR_PROTOCOL', 'the HBONE client pool is closed');
    }
  }

  private async dial(entry: PoolEntry, request: HboneConnectRequest, where: string): Promise<void> {
    const material = this.tlsFor(request.srcIdentity);
    if (!material) {
      throw new L4meshError('L4MESH_ERR_CERTIFICATE', `no certificate for source identity ${request.srcIdentity} yet — has the CA issued it?`);
    }
    let context = this.contexts.get(material);
    if (!context) {
      context = createHboneSecureContext(material);
      this.contexts.set(material, context);
    }
    const session = await dialHbone(
      context,
      { host: request.proxyAddress.host, port: request.proxyAddress.port, dstIdentity: request.dstIdentity },
      this.connectTimeoutMs,
    );
    const pooled: PooledSession = { session, streams: 0, usable: true };
    const retire = (): void => {
      pooled.usable = false;
      clearTimeout(pooled.idleTimer);
      const i = entry.sessions.indexOf(pooled);
      if (i >= 0) entry.sessions.splice(i, 1);
      if (entry.sessions.length === 0 && !entry.dialing && this.entries.get(this.keyOf(entry)) === entry) {
        this.entries.delete(this.keyOf(entry));
      }
    };
    session.once('goaway', () => (pooled.usable = false));
    session.once('close', retire);
    if (this.closed) session.close();
    entry.sessions.push(pooled);
  }

  /** Our own cap, or the server's SETTINGS_MAX_CONCURRENT_STREAMS when that is lower. */
  private streamLimit(pooled: PooledSession): number {
    const remote = pooled.session.remoteSettings.maxConcurrentStreams;
    return remote !== undefined && remote < this.maxStreams ? remote : this.maxStreams;
  }

  private keyOf(entry: PoolEntry): string {
    return `${entry.srcIdentity}\n${entry.dstIdentity}\n${entry.dstNode}`;
  }

  private release(pooled: PooledSession): void {
    pooled.streams--;
    if (pooled.streams > 0 || !pooled.usable) return;
    pooled.idleTimer = setTimeout(() => {
      pooled.usable = false;
      pooled.session.close();
    }, this.idleTimeoutMs);
    pooled.idleTimer.unref();
  }

  private openStream(pooled: PooledSession, request: HboneConnectRequest, where: string, timeoutMs: number): Promise<ClientHttp2Stream> {
    // The listeners below live as long as the tunnel, so they capture the authority, not the request and
    // its headers (the stream keeps its own copy of those): the stream is opened outside their scope.
    const authority = request.authority;
    let stream: ClientHttp2Stream;
    try {
      stream = pooled.session.request({ ':method': 'CONNECT', ':authority': authority, ...request.headers }, { endStream: false });
    } catch (err) {
      pooled.usable = false;
      this.release(pooled);
      return Promise.reject(new L4meshError('L4MESH_ERR_PROTOCOL', `cannot open a stream to ${where}: ${(err as Error).message}`, { cause: err }));
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      // Dropped once settled: the 'close' listener below outlives the setup by the tunnel's whole life.
      let timer: NodeJS.Timeout | undefined;
      const settle = (err?: L4meshError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        timer = undefined;
        if (err) {
          if (!stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
          reject(err);
        } else {
          resolve(stream);
        }
      };
      timer = setTimeout(() => settle(connectTimeoutError(where, this.connectTimeoutMs)), timeoutMs);
      timer.unref();
      stream.once('close', () => {
        this.release(pooled);
        // Every tunnel's stream closes; only one that never answered is a failure. Building the error
        // (a stack capture) only then took ~2 % of a node proxy's CPU in the connection-rate profile.
        if (settled) return;
        settle(new L4meshError('L4MESH_ERR_PROTOCOL', `destination proxy ${where} closed the stream for ${authority} before answering (HTTP/2 code ${stream.rstCode}) — it may have refused our certificate`));
      });
      stream.on('error', (err) => {
        settle(new L4meshError('L4MESH_ERR_PROTOCOL', `HBONE stream to ${where} for ${authority} failed before the response: ${err.message}`, { cause: err }));
      });
      stream.once('response', (headers) => {
        const status = Number(headers[':status']);
        settle(status === 200 ? undefined : statusError(status, authority, where));
      });
    });
  }
}
