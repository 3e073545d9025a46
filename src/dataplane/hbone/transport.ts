// The two HBONE transports (node:http2 and our own HTTP/2 layer in h2/) seen through the few members the
// pool, the server and the liveness watch use, so everything above the framing works with either.
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SecureContext, TLSSocket } from 'node:tls';
import { dialHbone, type DialTarget } from './dial.js';
import { dialHboneL4mesh, type HboneTransport } from './h2/dial.js';
import { H2Session, type H2SessionOptions } from './h2/session.js';
import { HBONE_L4MESH_STREAM_WINDOW_BYTES, HBONE_MAX_CONCURRENT_STREAMS, HBONE_MAX_FRAME_BYTES } from './settings.js';

export { DEFAULT_HBONE_TRANSPORT, parseHboneTransport, type HboneTransport } from './h2/dial.js';

/** Every transport, for tests and benchmarks that run the same scenario on each. */
export const HBONE_TRANSPORTS: readonly HboneTransport[] = ['l4mesh', 'node'];

/**
 * Our layer keeps reading its socket while it writes, so its windows are DESIGN §5's: 1 MiB per stream and
 * a connection window of max-concurrent-streams × that (the session computes it), not node:http2's 1 MiB.
 */
export const HBONE_L4MESH_SESSION_OPTIONS: H2SessionOptions = {
  streamWindowBytes: HBONE_L4MESH_STREAM_WINDOW_BYTES,
  maxConcurrentStreams: HBONE_MAX_CONCURRENT_STREAMS,
  maxFrameBytes: HBONE_MAX_FRAME_BYTES,
};

/** A CONNECT stream: node:http2's ClientHttp2Stream/ServerHttp2Stream or our H2Stream. */
export interface HboneStream extends Duplex {
  /** The RST_STREAM code; NO_ERROR (0) once the stream closed cleanly. */
  readonly rstCode: number | undefined;
  /** The stream was reset or its connection broke. */
  readonly aborted: boolean;
  close(code?: number): void;
}

/** What PINGs need of a connection. */
export interface PingTarget {
  readonly destroyed: boolean;
  readonly closed: boolean;
}

/** One HBONE connection of either transport, as the pool and the server use it. */
export interface HboneSession extends EventEmitter, PingTarget {
  readonly remoteSettings: { maxConcurrentStreams?: number };
  readonly socket: Duplex | TLSSocket;
  close(callback?: () => void): void;
  destroy(error?: Error): void;
}

export interface HboneClientSession extends HboneSession {
  request(headers: Record<string, string>, options: { endStream: boolean }): HboneStream;
}

/**
 * Sends one PING; `answered` runs once with no argument when the ACK came, with an error when the
 * connection ended first. Returns false when no PING could be sent.
 */
export function sendPing(session: PingTarget, answered: (err?: Error | null) => void): boolean {
  if (session instanceof H2Session) {
    session.ping().then(
      () => answered(),
      (err: Error) => answered(err),
    );
    return true;
  }
  return (session as unknown as { ping(cb: (err: Error | null) => void): boolean }).ping(answered);
}

/** Dials one HBONE connection with `transport`; see dialHbone for what is checked. */
export function dialHboneWith(transport: HboneTransport, context: SecureContext, target: DialTarget, timeoutMs: number): Promise<HboneClientSession> {
  if (transport === 'l4mesh') return dialHboneL4mesh(context, target, timeoutMs, HBONE_L4MESH_SESSION_OPTIONS);
  return dialHbone(context, target, timeoutMs) as unknown as Promise<HboneClientSession>;
}
