// An in-process socket pair: what one side writes, the other reads, with backpressure, half-close and
// destroy propagation. Lets a proxy hand "an upstream socket" to the HBONE server while the bytes are
// actually parsed in-process (node:http on the other side), without a loopback TCP hop.
import { Duplex } from 'node:stream';

export class PairedSocket extends Duplex {
  peer!: PairedSocket;
  /** The write callback held back while the peer's readable buffer is full. */
  private blocked?: () => void;
  /** Remote address that node:http and loggers read from a socket; set by the creator. */
  remoteAddress?: string;
  remotePort?: number;

  constructor() {
    // Each direction ends on its own, as with a TCP socket opened with allowHalfOpen.
    super({ allowHalfOpen: true });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.peer.destroyed) {
      // The reader closed after a clean end: like bytes sent after the peer's close, they go nowhere.
      callback();
      return;
    }
    if (this.peer.push(chunk)) callback();
    else this.peer.blocked = callback;
  }

  override _read(): void {
    const resume = this.blocked;
    if (resume) {
      this.blocked = undefined;
      resume();
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const resume = this.peer.blocked;
    this.peer.blocked = undefined;
    resume?.();
    // After a clean end of our writes the peer already read EOF and keeps its own direction open until it
    // ends it; otherwise it sees an abort, as a TCP RST would tell it.
    if (!this.peer.destroyed && (error || !this.writableFinished)) {
      const err = new Error('socket pair peer aborted') as NodeJS.ErrnoException;
      err.code = 'ECONNRESET';
      this.peer.destroy(err);
    }
    callback(error);
  }

  // The parts of net.Socket that node:http and the HBONE server call; nothing to tune in-process.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(_ms: number, _callback?: () => void): this {
    return this;
  }
  resetAndDestroy(): this {
    const err = new Error('socket pair reset') as NodeJS.ErrnoException;
    err.code = 'ECONNRESET';
    return this.destroy(err);
  }
  destroySoon(): void {
    if (this.writableFinished) this.destroy();
    else {
      this.once('finish', () => this.destroy());
      this.end();
    }
  }
}

/** Two connected sockets: bytes written to `a` are read from `b`, and the other way round. */
export function socketPair(): [PairedSocket, PairedSocket] {
  const a = new PairedSocket();
  const b = new PairedSocket();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
