// Copies bytes both ways between two duplex streams (TCP sockets, TLS sockets, HTTP/2 streams) with
// backpressure, half-close and reset propagation, counting bytes as plain number additions.
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { constants as h2 } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { ConnectionStats } from './connection-stats.js';
import { isHttp2Stream, STREAM_CANCEL } from './node-compat.js';
import { SocketWriter } from './socket-writer.js';
import { isPooled, onChunks } from './pooled-reads.js';
import { H2Stream } from './hbone/h2/stream.js';

export interface SpliceOutcome {
  /** The first failure on either side; absent when both directions ended cleanly (FIN / END_STREAM). */
  error?: Error;
  received: number;
  sent: number;
}

/** Tears `side` down so that its peer sees an abort, not a clean end. */
function abort(side: Duplex): void {
  if (side.destroyed) return;
  if (isHttp2Stream(side)) {
    // destroy(AbortError) sends RST_STREAM(CANCEL) alone. close(CANCEL) would first end the writable
    // side, so the peer would see END_STREAM — a clean FIN it passes on — and only then the reset.
    side.destroy(STREAM_CANCEL);
  } else if (side instanceof Socket && !(side instanceof TLSSocket) && !side.writableEnded) {
    // (Once our FIN is on its way the kernel can no longer turn the close into a RST: libuv refuses.)
    // RST instead of FIN, so the application behind it sees ECONNRESET as it would without the mesh.
    try {
      side.resetAndDestroy();
    } catch {
      side.destroy();
    }
  } else {
    side.destroy();
  }
}

/**
 * Whether `side` is done with a written buffer once the write's callback ran, so that a recycled slab
 * may be reused from then on: a kernel socket (libuv sent the bytes; TLS copied them into its records)
 * or an HTTP/2 stream (its session wrote the frame). Any other duplex — the waypoint's in-process socket
 * pair — calls back as soon as it passed the very buffer on to its reader, which may still hold it
 * (queued in its own pending write, or as an HTTP body chunk) when the slab is filled again.
 */
function dropsWrittenBytes(side: Duplex): boolean {
  return side instanceof Socket || isHttp2Stream(side);
}

/**
 * One direction of the copy. Listeners are attached once per connection; per chunk the work is one
 * addition and one write, and the source is paused while the destination's buffer is full.
 */
function pump(from: Duplex, to: Duplex, count: (n: number) => void): void {
  const recycles = dropsWrittenBytes(to);
  const batch = isHttp2Stream(from) && !isHttp2Stream(to) ? coalesce(from, to, count, recycles) : undefined;
  if (isPooled(from)) {
    onChunks(from, (chunk) => {
      count(chunk.bytes.length);
      if (recycles) {
        if (!to.write(chunk.bytes, chunk.release)) from.pause();
        return;
      }
      // The destination may keep the very buffer after its callback: hand it a copy of its own.
      const copy = Buffer.from(chunk.bytes);
      chunk.release();
      if (!to.write(copy)) from.pause();
    });
  } else if (!batch) {
    from.on('data', (chunk: Buffer) => {
      count(chunk.length);
      if (!to.write(chunk)) from.pause();
    });
  }
  to.on('drain', () => from.resume());
  // End of one direction ends only the other side's writable; the reverse direction keeps flowing.
  if (isHttp2Stream(from)) {
    // Node reports a received RST_STREAM first as an end of data and only marks the stream aborted a
    // moment later; waiting one turn keeps a reset from being passed on as a clean FIN.
    from.on('end', () =>
      setImmediate(() => {
        if (from.aborted) return;
        if (batch) batch.end();
        else to.end();
      }),
    );
  } else {
    from.on('end', () => to.end());
  }
}

/** Above this many buffered bytes a batch is written at once instead of at the end of the I/O phase. */
const COALESCE_MAX_BYTES = 256 * 1024;

/**
 * HTTP/2 → socket: node:http2 hands over each DATA frame (at most 16 KiB; Node never sends larger ones) as
 * its own chunk, our layer each piece of a decrypted TLS read (≤ 16 KiB), all of one socket read within one
 * I/O callback. Writing them together at the end of that phase (setImmediate) makes one 64 KiB+ send
 * instead of four 16 KiB ones — fewer syscalls and, on the receiving side, fewer wake-ups. The batch goes
 * through a SocketWriter: in one writev straight to the socket's handle when Node allows (pieces of one TLS
 * socket's reads, which lie next to each other in memory, as one), else corked through its Writable. While
 * the socket is backed up the stream is paused (its window then holds the sender back), and the writer's
 * onIdle (a handle write finished) or the socket's 'drain' (pump) resumes it. Returns the batch's end(),
 * which ends `to` once what is batched was written.
 */
function coalesce(from: Duplex, to: Duplex, count: (n: number) => void, recycles: boolean): { end(): void } {
  const writer = new SocketWriter(to, () => from.resume());
  /** Bytes added to the writer since its last flush. */
  let batched = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    batched = 0;
    if (!writer.flush()) from.pause();
  };
  /** `release` drops the hold on the pooled read `chunk` is a view of (our HTTP/2 layer's DATA). */
  const add = (chunk: Buffer, release?: () => void): void => {
    count(chunk.length);
    if (to.destroyed || to.writableEnded) return release?.();
    if (release && !recycles) {
      // `to` may keep what it is given after its callback (an in-process duplex): a buffer of its own.
      chunk = Buffer.from(chunk);
      release();
      release = undefined;
    }
    writer.add(chunk, release);
    batched += chunk.length;
    if (batched >= COALESCE_MAX_BYTES) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  // Our HTTP/2 layer hands DATA over as views of its pooled reads: no buffer per piece, no stream machinery.
  if (from instanceof H2Stream) from.deliverTo(add);
  else from.on('data', (chunk: Buffer) => add(chunk));
  return { end: () => writer.end() };
}

function allowHalfOpen(side: Duplex): void {
  // A net.Socket created without allowHalfOpen would answer the peer's FIN with its own FIN, cutting
  // off the direction that is still sending; the flag is read when the FIN arrives, so set it here.
  if (side instanceof Socket) side.allowHalfOpen = true;
}

/**
 * Splices `a` (the client side) and `b` (the server side). Resolves when both sides have closed.
 * `stats.received` counts a→b bytes, `stats.sent` b→a bytes.
 */
export function splice(a: Duplex, b: Duplex, stats: ConnectionStats): Promise<SpliceOutcome> {
  return new Promise((resolve) => {
    let firstError: Error | undefined;
    let closed = 0;
    let aborted = false;

    const onClose = (side: Duplex, other: Duplex) => {
      let seen = false;
      return () => {
        if (seen) return;
        seen = true;
        onSideClosed(side, other);
      };
    };
    const onSideClosed = (side: Duplex, other: Duplex): void => {
      // A side that closes without having finished both directions was reset or destroyed: pass the
      // abort on instead of letting the other side believe the stream ended cleanly.
      const clean = finishedCleanly(side);
      if (!clean) {
        if (!firstError) firstError = abortReason(side);
        if (!aborted) {
          aborted = true;
          abort(other);
        }
      }
      if (++closed === 2) resolve({ error: firstError, received: stats.received, sent: stats.sent });
    };

    for (const [side, other] of [
      [a, b],
      [b, a],
    ] as const) {
      allowHalfOpen(side);
      side.on('error', (err: Error) => {
        if (!firstError && !aborted) firstError = err;
      });
      if (side.destroyed) {
        // Already gone before the splice started (for example the peer reset during setup).
        process.nextTick(onClose(side, other));
      } else {
        // `on`, not `once`: 'close' comes once anyway (onClose ignores a repeat), and a `once` wrapper is two
        // more objects that an idle connection keeps for its whole life.
        side.on('close', onClose(side, other));
      }
    }

    pump(a, b, (n) => {
      stats.received += n;
    });
    pump(b, a, (n) => {
      stats.sent += n;
    });
  });
}

function finishedCleanly(side: Duplex): boolean {
  // An HTTP/2 stream may close (both END_STREAMs exchanged) before its 'finish' event has run, so its
  // own close code tells whether it ended cleanly.
  if (isHttp2Stream(side)) return side.rstCode === h2.NGHTTP2_NO_ERROR && side.readableEnded && side.writableEnded;
  return side.readableEnded && side.writableFinished;
}

function abortReason(side: Duplex): Error {
  if (isHttp2Stream(side) && side.rstCode !== undefined && side.rstCode !== h2.NGHTTP2_NO_ERROR) {
    const err = new Error(`HTTP/2 stream reset (code ${side.rstCode})`) as NodeJS.ErrnoException;
    err.code = 'ECONNRESET';
    return err;
  }
  const err = new Error('connection closed before both directions finished') as NodeJS.ErrnoException;
  err.code = 'ECONNRESET';
  return err;
}
