// One socket's writes, in order, each batch straight to the socket's native handle when Node allows it
// (node-compat's writeToHandle) and through its Writable otherwise. An HTTP/2 session owns its TLS socket's
// writes through one of these: a TLS handle takes one write at a time, so a batch waits for the one before it.
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

  constructor(private readonly socket: Duplex) {}

  /** Queues `buffer` for the next flush(); `written` runs once the socket is done with it (sent, or failed). */
  add(buffer: Buffer, written?: WriteCallback): void {
    this.buffers.push(buffer);
    this.callbacks.push(written);
  }

  /**
   * Writes what was added since the last flush, in one call, or leaves it queued behind a pending write;
   * after end(), ends the socket once nothing is queued or pending.
   */
  flush(): void {
    if (!this.pending && this.buffers.length > 0) this.send();
    this.endWhenIdle();
  }

  private send(): void {
    const buffers = this.buffers;
    const callbacks = this.callbacks;
    this.buffers = [];
    this.callbacks = [];
    const outcome = writeToHandle(this.socket, buffers, (err) => this.written(callbacks, err));
    if (outcome === 'pending') {
      this.pending = true;
      return;
    }
    if (outcome === 'sent') return;
    // The socket's Writable holds something, or there is no handle to write to: it keeps the order.
    const socket = this.socket;
    if (buffers.length > 1) socket.cork();
    for (let i = 0; i < buffers.length; i++) socket.write(buffers[i], callbacks[i]);
    if (buffers.length > 1) socket.uncork();
  }

  /** Ends the socket (FIN, or TLS close_notify and FIN) after everything added so far was written. */
  end(): void {
    this.ending = true;
    this.flush();
  }

  private written(callbacks: ReadonlyArray<WriteCallback | undefined>, err: Error | null): void {
    const wasPending = this.pending;
    this.pending = false;
    for (const callback of callbacks) callback?.(err);
    if (wasPending) this.flush();
  }

  private endWhenIdle(): void {
    if (!this.ending || this.ended || this.pending || this.buffers.length > 0) return;
    this.ended = true;
    this.socket.end();
  }
}
