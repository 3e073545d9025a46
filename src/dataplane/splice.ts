// Copies bytes both ways between two duplex streams (TCP sockets, TLS sockets, HTTP/2 streams) with
// backpressure, half-close and reset propagation, counting bytes as plain number additions.
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { constants as h2 } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { ConnectionStats } from './connection-stats.js';
import { isHttp2Stream, STREAM_CANCEL, writeToHandle } from './node-compat.js';
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
 * instead of four 16 KiB ones — fewer syscalls and, on the receiving side, fewer wake-ups. The pieces go as
 * they are, in one write (one writev) straight to the socket's handle when Node allows (writeToHandle), else
 * corked through its Writable; pieces that lie next to each other in memory, as the pieces of one TLS
 * socket's reads do (readPooledChunks), go as one. Returns the batch's end(), which ends `to` once what is
 * batched was written.
 */
function coalesce(from: Duplex, to: Duplex, count: (n: number) => void, recycles: boolean): { end(): void } {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Holds on pooled reads that pending chunks are views of (our HTTP/2 layer's DATA); dropped once written. */
  let holds: Array<() => void> = [];
  let scheduled = false;
  /** A handle write the kernel has not taken all of yet: `from` is paused and batches wait behind it. */
  let inKernelQueue = false;
  let ending = false;
  const afterHandleWrite = (held: ReadonlyArray<() => void>): void => {
    releaseAll(held);
    if (!inKernelQueue) return;
    inKernelQueue = false;
    flush();
    if (!inKernelQueue) {
      if (ending) to.end();
      else from.resume();
    }
  };
  const flush = (): void => {
    scheduled = false;
    if (pendingBytes === 0 || inKernelQueue) return;
    const chunks = joinAdjacent(pending);
    const bytes = pendingBytes;
    const held = holds;
    pending = [];
    pendingBytes = 0;
    holds = [];
    if (to.destroyed || to.writableEnded) return releaseAll(held);
    if (!recycles && held.length > 0) {
      // `to` may keep what it is given after its callback (an in-process duplex): a buffer of its own.
      const data = Buffer.concat(chunks, bytes);
      releaseAll(held);
      if (!to.write(data)) from.pause();
      return;
    }
    const sent = writeToHandle(to, chunks, () => afterHandleWrite(held));
    if (sent === 'pending') {
      inKernelQueue = true;
      from.pause();
      return;
    }
    if (sent === 'sent') return;
    const written = held.length > 0 ? () => releaseAll(held) : undefined;
    let more = true;
    if (chunks.length > 1) to.cork();
    for (let i = 0; i < chunks.length; i++) more = to.write(chunks[i], i === chunks.length - 1 ? written : undefined);
    if (chunks.length > 1) to.uncork();
    if (!more) from.pause();
  };
  const add = (chunk: Buffer): void => {
    count(chunk.length);
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= COALESCE_MAX_BYTES) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  if (from instanceof H2Stream) {
    // Our HTTP/2 layer hands DATA over as views of its pooled reads: no buffer per piece, no stream machinery.
    from.deliverTo((chunk, release) => {
      holds.push(release);
      add(chunk);
    });
  } else {
    from.on('data', add);
  }
  return {
    end: () => {
      flush();
      ending = true;
      if (!inKernelQueue) to.end();
    },
  };
}

function releaseAll(holds: ReadonlyArray<() => void>): void {
  for (const release of holds) release();
}

/** `chunks` with each run of buffers that follow one another in the same memory made one view. */
export function joinAdjacent(chunks: Buffer[]): Buffer[] {
  if (chunks.length < 2) return chunks;
  const out: Buffer[] = [];
  let run = chunks[0]!;
  for (let i = 1; i < chunks.length; i++) {
    const next = chunks[i]!;
    if (next.buffer === run.buffer && run.byteOffset + run.length === next.byteOffset) {
      run = Buffer.from(run.buffer, run.byteOffset, run.length + next.length);
    } else {
      out.push(run);
      run = next;
    }
  }
  out.push(run);
  return out;
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
