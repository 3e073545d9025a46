// One socket's writes, in order, each batch straight to the socket's native handle when Node allows it
// (node-compat's writeToHandle) and through its Writable otherwise. Two owners: an HTTP/2 session writes its
// TLS socket through one (a TLS handle takes one write at a time, so a batch waits for the one before it),
// and splice writes an HBONE stream's payloads to the plain socket through one (it pauses the stream while
// the socket is backed up, and resumes it from `onIdle`).
import type { Duplex } from 'node:stream';
import { writeToHandle } from './node-compat.js';

export type WriteCallback = (err?: Error | null) => void;

export class SocketWriter {
  private buffers: Buffer[] = [];
  private callbacks: Array<WriteCallback | undefined> = [];
  /** A handle write has not finished yet; what is added meanwhile goes out after it. */
  private pending = false;
  /** end() was called: the socket ends once everything added before was written. */
  private ending = false;
  private ended = false;

  /**
   * `onIdle` runs when a write that was pending (the kernel had not taken all of it) finished and nothing
   * is pending after it: the socket takes more again.
   */
  constructor(
    private readonly socket: Duplex,
    private readonly onIdle?: () => void,
  ) {}

  /** Queues `buffer` for the next flush(); `written` runs once the socket is done with it (sent, or failed). */
  add(buffer: Buffer, written?: WriteCallback): void {
    this.buffers.push(buffer);
    this.callbacks.push(written);
  }

  /**
   * Writes what was added since the last flush, in one call, or leaves it queued behind a pending write;
   * after end(), ends the socket once nothing is queued or pending. Returns false when the socket is backed
   * up: a handle write is pending (onIdle follows) or its Writable is above its high-water mark ('drain'
   * follows).
   */
  flush(): boolean {
    let more = true;
    if (!this.pending && this.buffers.length > 0) more = this.send();
    this.endWhenIdle();
    return more && !this.pending;
  }

  private send(): boolean {
    const callbacks = this.callbacks;
    // Pieces of one slab that follow one another (one TLS read's DATA payloads) go as one view.
    const chunks = joinAdjacent(this.buffers);
    this.buffers = [];
    this.callbacks = [];
    const outcome = writeToHandle(this.socket, chunks, (err) => this.written(callbacks, err));
    if (outcome === 'pending') {
      this.pending = true;
      return false;
    }
    if (outcome === 'sent') return true;
    // The socket's Writable holds something, or there is no handle to write to: it keeps the order. The
    // last piece's callback runs every callback of the batch (joined pieces no longer match them one to one).
    const socket = this.socket;
    const last = chunks.length - 1;
    const all = callbacks.some((c) => c !== undefined) ? (err?: Error | null) => runAll(callbacks, err ?? null) : undefined;
    let more = true;
    if (last > 0) socket.cork();
    for (let i = 0; i <= last; i++) more = socket.write(chunks[i], i === last ? all : undefined);
    if (last > 0) socket.uncork();
    return more;
  }

  /** Ends the socket (FIN, or TLS close_notify and FIN) after everything added so far was written. */
  end(): void {
    this.ending = true;
    this.flush();
  }

  private written(callbacks: ReadonlyArray<WriteCallback | undefined>, err: Error | null): void {
    const wasPending = this.pending;
    this.pending = false;
    runAll(callbacks, err);
    if (!wasPending) return;
    this.flush();
    if (!this.pending) this.onIdle?.();
  }

  private endWhenIdle(): void {
    if (!this.ending || this.ended || this.pending || this.buffers.length > 0) return;
    this.ended = true;
    this.socket.end();
  }
}

function runAll(callbacks: ReadonlyArray<WriteCallback | undefined>, err: Error | null): void {
  for (const callback of callbacks) callback?.(err);
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
