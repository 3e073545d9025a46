// The in-band istio-peer-exchange handshake on an established TLS socket: write our frame, read the peer's,
// and hand the socket back paused with any application bytes already read.
import type { TLSSocket } from 'node:tls';
import { L4meshError } from '../../errors/index.js';
import { encodeExchange, ExchangeReader, MAX_PAYLOAD_BYTES, MX_HEADER_BYTES, type ExchangeDecision, type PeerMetadata } from './codec.js';
import type { MxStats } from './stats.js';

/** The ALPN id that turns the exchange on. */
export const MX_PROTOCOL = 'istio-peer-exchange';
/** What a sidecar client offers (and a sidecar server accepts), in Istio's order of preference. */
export const MX_ALPN: readonly string[] = ['istio-peer-exchange', 'istio'];

/**
 * MX_ALPN in TLS wire form (length-prefixed names), for a client's `ALPNProtocols`, as a DataView on
 * purpose. Node copies an array or a Uint8Array given there into its shared 8 KiB Buffer pool, once per
 * socket, and the socket keeps the copy for its whole life: idle connections pinned about one pool slab
 * per five sockets. A DataView is copied into a small ArrayBuffer of its own.
 */
export const MX_ALPN_WIRE: Uint8Array = (() => {
  const names = MX_ALPN.map((p) => Buffer.from(p, 'ascii'));
  const wire = new Uint8Array(names.reduce((n, b) => n + 1 + b.length, 0));
  let at = 0;
  for (const b of names) {
    wire[at++] = b.length;
    wire.set(b, at);
    at += b.length;
  }
  // Node's option types name only arrays and Uint8Array; at runtime any ArrayBufferView is accepted.
  return new DataView(wire.buffer) as unknown as Uint8Array;
})();

/**
 * A sidecar server's ALPN choice: the first of MX_ALPN the client offers; none (a fatal
 * no_application_protocol alert) when it offers others only, as with `ALPNProtocols: MX_ALPN`. A callback
 * rather than `ALPNProtocols`, because Node copies a server's list into its Buffer pool for every
 * accepted socket and keeps it there (see MX_ALPN_WIRE).
 */
export function selectMxProtocol({ protocols }: { protocols: string[] }): string | undefined {
  for (const p of MX_ALPN) if (protocols.includes(p)) return p;
  return undefined;
}

/**
 * The exchange's deadline. A mesh peer writes its frame right after the TLS handshake, so a few seconds
 * are plenty even on a loaded host. At the deadline a peer that has not spoken at all is passed through
 * (a peer that never speaks first must not be held; Envoy waits without limit), and a peer that started a
 * frame (magic, or the header and part of the payload) and stalled is a protocol error: the connection is
 * closed, never held for the rest of the frame.
 */
export const DEFAULT_EXCHANGE_TIMEOUT_MS = 5_000;

export interface ExchangeOptions {
  timeoutMs?: number;
  stats: MxStats;
}

export type ExchangeOutcome = 'metadata' | 'alpn-not-negotiated' | 'no-header' | 'bad-payload' | 'timeout';

export interface ExchangeResult {
  /** The peer's metadata (nodeId included when sent); undefined means: look the peer up by IP instead. */
  peer: PeerMetadata | undefined;
  /** Application bytes already read from the socket; deliver them before anything read later. */
  head: Buffer;
  /** The peer half-closed during the exchange: no further 'end' event will come, the caller must end its side. */
  peerEnded: boolean;
  outcome: ExchangeOutcome;
}

const EMPTY = Buffer.alloc(0);

/**
 * Runs the exchange on `socket` (TLS handshake done, no reader attached yet). Resolves with the socket
 * paused and without our listeners; call `socket.resume()` or `pipe()` after handling `head`, and keep an
 * 'error' listener of your own on the socket, since ours is gone once the promise settles.
 * Rejects with L4MESH_ERR_PROTOCOL (socket destroyed) when the peer announces more than
 * MAX_PAYLOAD_BYTES, when it started a frame and did not finish it within the deadline, or when the
 * connection fails before a decision.
 */
export function exchangeMetadata(
  socket: TLSSocket,
  local: { metadata: PeerMetadata; nodeId: string },
  options: ExchangeOptions,
): Promise<ExchangeResult> {
  const { stats } = options;
  if (socket.alpnProtocol !== MX_PROTOCOL) {
    stats.alpnProtocolNotFound++;
    return Promise.resolve({ peer: undefined, head: EMPTY, peerEnded: false, outcome: 'alpn-not-negotiated' });
  }
  stats.alpnProtocolFound++;
  // Both sides write first: an Envoy peer only writes its frame once it has seen data from us.
  const frame = encodeExchange(local.metadata, local.nodeId);
  socket.write(frame);
  stats.metadataAdded++;

  const reader = new ExchangeReader();
  // Captured now: a destroyed socket no longer knows its peer's address.
  const peerAddress = `${socket.remoteAddress}:${socket.remotePort}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_EXCHANGE_TIMEOUT_MS;

  return new Promise<ExchangeResult>((resolve, reject) => {
    let timedOut = false;
    let peerEnded = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (!reader.inFrame) return settle(reader.end());
      const announced = reader.announcedLength;
      const have = reader.bufferedBytes;
      cleanup();
      stats.headerNotFound++;
      socket.destroy();
      reject(
        new L4meshError(
          'L4MESH_ERR_PROTOCOL',
          `istio-peer-exchange with ${peerAddress} timed out after ${timeoutMs} ms: ` +
            (announced === undefined
              ? `the peer sent ${have} of the ${MX_HEADER_BYTES} header bytes`
              : `the peer announced ${announced} bytes of metadata and sent ${have - MX_HEADER_BYTES}`) +
            '; connection closed',
        ),
      );
    }, timeoutMs);

    const onData = (chunk: Buffer): void => {
      const decision = reader.push(chunk);
      if (decision.kind !== 'need-more') settle(decision);
    };
    const onEnd = (): void => {
      peerEnded = true;
      settle(reader.end());
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(
        new L4meshError(
          'L4MESH_ERR_PROTOCOL',
          `connection with ${peerAddress} failed during the istio-peer-exchange ` +
            `metadata exchange: ${err.message}`,
          { cause: err },
        ),
      );
    };
    const onClose = (): void => onError(new Error('connection closed before the peer sent its metadata'));

    function cleanup(): void {
      clearTimeout(timer);
      socket.pause();
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onClose);
    }

    function settle(decision: ExchangeDecision): void {
      cleanup();
      switch (decision.kind) {
        case 'metadata':
          resolve({ peer: decision.metadata, head: decision.rest, peerEnded, outcome: 'metadata' });
          return;
        case 'no-header':
          stats.initialHeaderNotFound++;
          resolve({ peer: undefined, head: decision.bytes, peerEnded, outcome: timedOut ? 'timeout' : 'no-header' });
          return;
        case 'bad-payload':
          stats.headerNotFound++;
          resolve({ peer: undefined, head: decision.bytes, peerEnded, outcome: timedOut ? 'timeout' : 'bad-payload' });
          return;
        case 'too-large':
          stats.headerNotFound++;
          socket.destroy();
          reject(
            new L4meshError(
              'L4MESH_ERR_PROTOCOL',
              `peer metadata of ${decision.length} bytes exceeds the ${MAX_PAYLOAD_BYTES}-byte limit ` +
                `(connection with ${peerAddress} closed); the peer is not a ` +
                'well-behaved istio-peer-exchange proxy',
            ),
          );
          return;
        case 'need-more':
          return;
      }
    }

    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}
