// Outbound HBONE: a pool of mutual-TLS HTTP/2 connections to node proxies, keyed by
// (source identity, destination identity, destination node), handing out CONNECT streams.
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { L4meshError } from '../../errors/index.js';
import { createHboneSecureContext, type TlsMaterial } from '../tls/secure-context.js';
import { openConnectStream, RetryElsewhere } from './connect-stream.js';
import { describeTarget } from './dial.js';
import { DEFAULT_PING_TIMING, PingWatch, pingTimeoutError, sweepEveryMs, type PingTiming } from './liveness.js';
import { DEFAULT_HBONE_TRANSPORT, dialHboneWith, type HboneClientSession, type HboneStream, type HboneTransport } from './transport.js';
import { HBONE_MAX_CONCURRENT_STREAMS, HBONE_SESSION_WINDOW_BYTES, HBONE_STREAM_WINDOW_BYTES } from './settings.js';

/** A TLS handshake plus the far side's upstream connect; beyond this the destination is not answering. */
export const DEFAULT_HBONE_CONNECT_TIMEOUT_MS = 10_000;
/**
 * Streams per connection before another connection is opened: what our own server advertises (DESIGN §5).
 * Not lower: every connection costs a TLS session and its buffers, and idle tunnels are budgeted at
 * 16 KiB of RSS each (bench/RESULTS.md). Bytes in flight do not depend on it; the session window bounds them.
 */
export const DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION = HBONE_MAX_CONCURRENT_STREAMS;
/**
 * Streams that get a full stream window out of one connection's session window (1 MiB / 256 KiB). When
 * every connection of a key carries this many, the key gets another connection (up to the next constant)
 * rather than making more streams share one window, and one dead connection takes fewer tunnels with it.
 * The stream that finds them all busy waits for that handshake (at most 3 times per key).
 */
export const HBONE_SPREAD_STREAMS = Math.floor(HBONE_SESSION_WINDOW_BYTES / HBONE_STREAM_WINDOW_BYTES);
/**
 * Connections per key opened for spreading; past HBONE_SPREAD_STREAMS on each of them, streams go to the
 * least-loaded one up to its stream limit before another is dialed. 4 × 4 streams run at full window.
 */
export const DEFAULT_HBONE_SPREAD_CONNECTIONS = 4;
/**
 * How long a stream waits for a spreading connection before it takes a busy one after all: a loopback or
 * LAN handshake takes milliseconds, and a destination that is slow to accept must not delay every stream.
 */
export const HBONE_SPREAD_WAIT_MS = 2_000;
/** An idle pooled connection is kept this long so bursts reuse it instead of paying a handshake. */
export const DEFAULT_HBONE_IDLE_TIMEOUT_MS = 300_000;
/** A stream opened on a connection quiet this long sends a PING too (≤ 1 frame/s per busy connection). */
export const HBONE_PING_ON_USE_MS = 1_000;
/**
 * CONNECT attempts per tunnel: one refused (REFUSED_STREAM: never processed, so safe to retry) or stuck on a
 * connection that stopped answering PINGs is retried on another connection, within the connect timeout.
 */
export const HBONE_CONNECT_ATTEMPTS = 3;

export interface HboneClientPoolOptions {
  /** The key, chain and root to present as `srcIdentity`; undefined when it has no certificate yet. */
  tlsFor(srcIdentity: string): TlsMaterial | undefined;
  connectTimeoutMs?: number;
  maxStreamsPerConnection?: number;
  /** Connections per key opened before any carries more than HBONE_SPREAD_STREAMS; 1 fills one at a time. */
  spreadConnections?: number;
  idleTimeoutMs?: number;
  ping?: PingTiming;
  /** Which HTTP/2 implementation carries the connections (`--hbone-transport`); default DEFAULT_HBONE_TRANSPORT. */
  transport?: HboneTransport;
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
  /**
   * Where the TCP connection is made from, when not this process's own namespace (netns mode dials out of
   * the source pod's namespace). `key` names that place; connections are pooled per key.
   */
  via?: HboneDialVia;
  /** Told which pooled connection carries the stream: one opened for it, or one reused (for traced connections). */
  onReserved?(session: { reused: boolean; streamsOpened: number }): void;
}

export interface HboneDialVia {
  key: string;
  connect(host: string, port: number): Promise<Socket>;
}

export interface HboneKeyStats {
  srcIdentity: string;
  dstIdentity: string;
  dstNode: string;
  sessions: number;
  openStreams: number;
}

interface PooledSession {
  session: HboneClientSession;
  /** Streams handed out or being set up; counted before the response so concurrent callers see it. */
  streams: number;
  /** Streams ever reserved on this connection: the first is the one it was dialed for. */
  opened: number;
  idleTimer?: NodeJS.Timeout;
  usable: boolean;
  liveness: PingWatch;
  /** CONNECTs sent here still waiting for their response; told to go elsewhere when a PING is overdue. */
  waiting: Set<() => void>;
}

interface PoolEntry {
  srcIdentity: string;
  dstIdentity: string;
  dstNode: string;
  /** HboneConnectRequest.via's key ('' for this process's own namespace). */
  viaKey: string;
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

export class HboneClientPool {
  private readonly tlsFor: (srcIdentity: string) => TlsMaterial | undefined;
  private readonly connectTimeoutMs: number;
  private readonly maxStreams: number;
  private readonly spreadConnections: number;
  private readonly idleTimeoutMs: number;
  private readonly ping: PingTiming;
  private readonly transport: HboneTransport;
  /** Pings every pooled connection that has been quiet for the ping interval. */
  private readonly sweeper: NodeJS.Timeout;
  private readonly entries = new Map<string, PoolEntry>();
  /** Contexts per material object: a rotated certificate is a new object, hence a new context. */
  private readonly contexts = new WeakMap<TlsMaterial, SecureContext>();
  private closed = false;

  constructor(options: HboneClientPoolOptions) {
    this.tlsFor = options.tlsFor;
    this.connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs, DEFAULT_HBONE_CONNECT_TIMEOUT_MS);
    this.maxStreams = positive('maxStreamsPerConnection', options.maxStreamsPerConnection, DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION);
    this.spreadConnections = positive('spreadConnections', options.spreadConnections, DEFAULT_HBONE_SPREAD_CONNECTIONS);
    this.idleTimeoutMs = positive('idleTimeoutMs', options.idleTimeoutMs, DEFAULT_HBONE_IDLE_TIMEOUT_MS);
    this.ping = options.ping ?? DEFAULT_PING_TIMING;
    this.transport = options.transport ?? DEFAULT_HBONE_TRANSPORT;
    this.sweeper = setInterval(() => {
      for (const entry of this.entries.values()) for (const pooled of entry.sessions) pooled.liveness.check();
    }, sweepEveryMs(this.ping));
    this.sweeper.unref();
  }

  /** Opens a CONNECT tunnel; resolves with the stream once the destination answered 200. */
  async connect(request: HboneConnectRequest): Promise<HboneStream> {
    if (this.closed) throw new L4meshError('L4MESH_ERR_PROTOCOL', 'the HBONE client pool is closed');
    const where = describeTarget(request.proxyAddress);
    const deadline = Date.now() + this.connectTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const pooled = await this.reserve(request, where);
      pooled.opened++;
      request.onReserved?.({ reused: pooled.opened > 1, streamsOpened: pooled.opened });
      try {
        const release = (): void => this.release(pooled);
        return await openConnectStream(pooled, release, request, where, Math.max(1, deadline - Date.now()), this.connectTimeoutMs);
      } catch (err) {
        if (!(err instanceof RetryElsewhere)) throw err;
        if (attempt >= HBONE_CONNECT_ATTEMPTS || Date.now() >= deadline || this.closed) throw err.error;
      }
    }
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
    clearInterval(this.sweeper);
    const waits: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      for (const pooled of entry.sessions) {
        clearTimeout(pooled.idleTimer);
        pooled.usable = false;
        pooled.liveness.stop();
        if (pooled.session.closed || pooled.session.destroyed) continue;
        waits.push(new Promise((resolve) => pooled.session.close(() => resolve())));
      }
    }
    this.entries.clear();
    await Promise.all(waits);
  }

  /**
   * The least-loaded live session of the key with a free stream slot. While every live session of the key
   * carries HBONE_SPREAD_STREAMS and the key has fewer than `spreadConnections`, the caller waits for one
   * more connection instead (the key's one dial); if that dial fails or takes longer than
   * HBONE_SPREAD_WAIT_MS, the existing sessions take it.
   * Sessions whose PING is overdue are skipped.
   */
  private async reserve(request: HboneConnectRequest, where: string): Promise<PooledSession> {
    const key = `${request.srcIdentity}\n${request.dstIdentity}\n${request.dstNode}\n${request.via?.key ?? ''}`;
    let spread = true;
    for (;;) {
      // Looked up every round: the entry may have been dropped while this caller waited.
      let entry = this.entries.get(key);
      if (!entry) {
        entry = { srcIdentity: request.srcIdentity, dstIdentity: request.dstIdentity, dstNode: request.dstNode, viaKey: request.via?.key ?? '', sessions: [] };
        this.entries.set(key, entry);
      }
      let best: PooledSession | undefined;
      let live = 0;
      for (const s of entry.sessions) {
        if (!s.usable || s.liveness.overdue) continue;
        live++;
        if (s.streams < this.streamLimit(s) && (!best || s.streams < best.streams)) best = s;
      }
      const spreadWanted = spread && live < this.spreadConnections && best !== undefined && best.streams >= HBONE_SPREAD_STREAMS;
      if (best && !spreadWanted) {
        best.streams++;
        clearTimeout(best.idleTimer);
        best.idleTimer = undefined;
        best.liveness.check(HBONE_PING_ON_USE_MS);
        return best;
      }
      if (!entry.dialing) this.startDial(entry, key, request, where);
      try {
        if (!best) await entry.dialing;
        // Spreading is worth a handshake, not a destination that accepts connections slowly.
        else if (!(await Promise.race([entry.dialing!.then(() => true), sleep(HBONE_SPREAD_WAIT_MS, false, { ref: false })]))) spread = false;
      } catch (err) {
        // Callers waiting on a failed dial fail with its error instead of dialing again at once, unless
        // they only waited to spread and a session with room is still there.
        if (!best) throw err;
        spread = false;
      }
      if (this.closed) throw new L4meshError('L4MESH_ERR_PROTOCOL', 'the HBONE client pool is closed');
    }
  }

  private startDial(entry: PoolEntry, key: string, request: HboneConnectRequest, where: string): void {
    const dialing = this.dial(entry, request, where);
    entry.dialing = dialing;
    const done = (): void => {
      entry.dialing = undefined;
      // A key whose dial failed and that has no connection left is not worth listing in stats().
      if (entry.sessions.length === 0 && this.entries.get(key) === entry) this.entries.delete(key);
    };
    void dialing.then(done, done);
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
    const session = await dialHboneWith(
      this.transport,
      context,
      { host: request.proxyAddress.host, port: request.proxyAddress.port, dstIdentity: request.dstIdentity, ...(request.via ? { connect: request.via.connect } : {}) },
      this.connectTimeoutMs,
    );
    const pooled: PooledSession = {
      session,
      streams: 0,
      opened: 0,
      usable: true,
      waiting: new Set(),
      liveness: new PingWatch(session, this.ping, {
        // CONNECTs waiting on a silent connection go elsewhere now rather than at the connect timeout.
        onOverdue: () => {
          for (const goElsewhere of [...pooled.waiting]) goElsewhere();
        },
        onDead: () => {
          pooled.usable = false;
          session.destroy(pingTimeoutError(where, this.ping.timeoutMs));
        },
      }),
    };
    const retire = (): void => {
      pooled.usable = false;
      pooled.liveness.stop();
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
    return `${entry.srcIdentity}\n${entry.dstIdentity}\n${entry.dstNode}\n${entry.viaKey}`;
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
}
