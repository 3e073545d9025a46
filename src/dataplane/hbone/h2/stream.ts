// One HTTP/2 stream as a Duplex: received DATA waits in a queue of its own and the receive window is
// granted back only as the consumer reads, so a slow reader stalls its stream and nothing else.
import { Duplex } from 'node:stream';
import { L4meshError } from '../../../errors/index.js';
import { ErrorCode, errorCodeName } from './frames.js';

/** What a stream needs from its session; implemented by H2Session. */
export interface StreamOwner {
  sendData(stream: H2Stream, chunk: Buffer, endStream: boolean, done: (err?: Error | null) => void): void;
  sendHeaders(stream: H2Stream, fields: Array<[string, string]>, endStream: boolean): void;
  grantWindow(stream: H2Stream, bytes: number): void;
  resetStream(stream: H2Stream, code: number): void;
  streamClosed(stream: H2Stream): void;
}

/** A stream's readable buffer beyond its queue: small, so the window (not this) bounds what is held. */
const STREAM_READABLE_HIGH_WATER_BYTES = 64 * 1024;

export type ResponseHeaders = Record<string, string | number>;

/**
 * Takes received DATA straight from the stream (splice's path): `bytes` may be a view of a pooled read,
 * valid until `release` is called, which must happen once the bytes were copied or written.
 */
export type DataSink = (bytes: Buffer, release: () => void) => void;

/**
 * A waiting piece keeps its pooled read's slab (64 KiB) from reuse; beyond this many per stream, waiting
 * pieces are copied out instead, so a stalled stream holds about its window's worth of slabs, no more.
 */
const MAX_HELD_PIECES = 16;

const noRelease = (): void => {};

export class H2Stream extends Duplex {
  readonly id: number;
  /** The RST_STREAM code sent or received; undefined while the stream was not reset. */
  rstCode: number | undefined;
  /** Set by the session: bytes the peer may still send before we grant more. */
  recvWindow: number;
  /** Bytes the peer may still receive on this stream (its SETTINGS_INITIAL_WINDOW_SIZE plus updates). */
  sendWindow: number;
  localEnded = false;
  remoteEnded = false;
  /** Response (client) or request (server) headers seen. */
  headersReceived = false;
  /** A write waiting for window; owned by the session. */
  pending: { chunk: Buffer; offset: number; end: boolean; done: (err?: Error | null) => void } | undefined;

  private readonly owner: StreamOwner;
  private readonly windowBytes: number;
  private readonly queue: Buffer[] = [];
  /** Per queued piece: the hold on its pooled read (H2Session.holdReceived), if it has one. */
  private readonly holds: Array<(() => void) | undefined> = [];
  private heldPieces = 0;
  private sink: DataSink | undefined;
  /** Like any Readable, fill the readable buffer up to its high-water mark before the first read(). */
  private wantData = true;
  private draining = false;
  private consumed = 0;
  private endPushed = false;
  private finished = false;

  constructor(owner: StreamOwner, id: number, recvWindow: number, sendWindow: number) {
    super({ readableHighWaterMark: STREAM_READABLE_HIGH_WATER_BYTES, allowHalfOpen: true });
    this.owner = owner;
    this.id = id;
    this.recvWindow = recvWindow;
    this.windowBytes = recvWindow;
    this.sendWindow = sendWindow;
  }

  /** Server side: answer the request. */
  respond(headers: ResponseHeaders, options: { endStream?: boolean } = {}): void {
    if (this.destroyed) return;
    const fields: Array<[string, string]> = [[':status', String(headers[':status'])]];
    for (const [name, value] of Object.entries(headers)) {
      if (name !== ':status') fields.push([name.toLowerCase(), String(value)]);
    }
    this.owner.sendHeaders(this, fields, options.endStream === true);
    if (options.endStream) {
      this.localEnded = true;
      this.end();
      this.maybeClosed();
    }
  }

  /** Resets the stream with `code` (RST_STREAM) and destroys it without an error. */
  close(code: number = ErrorCode.NO_ERROR): void {
    if (this.finished) return;
    this.owner.resetStream(this, code);
    this.rstCode = code;
    this.finish();
    this.destroy();
  }

  /**
   * Called by the session with a DATA payload (`flowBytes` counts padding too). `release`, when given,
   * drops the hold on the pooled read `data` is a view of: the stream calls it once the bytes were taken.
   */
  onData(data: Buffer, flowBytes: number, endStream: boolean, release?: () => void): void {
    this.recvWindow -= flowBytes;
    // Padding is never read by anyone, so it is consumed at once.
    this.consumed += flowBytes - data.length;
    if (data.length > 0) {
      if (release && this.heldPieces >= MAX_HELD_PIECES) {
        data = Buffer.from(data);
        release();
        release = undefined;
      }
      if (release) this.heldPieces++;
      this.queue.push(data);
      this.holds.push(release);
    }
    if (endStream) this.remoteEnded = true;
    this.drain();
  }

  /**
   * From now on received DATA goes to `sink` instead of the readable side, while the stream is not
   * paused (pause() / resume(), as for 'data'); 'end' is still emitted. Bytes queued before go first.
   */
  deliverTo(sink: DataSink): void {
    this.sink = sink;
    this.on('resume', () => this.drain());
    // Flowing, so that the readable side emits 'end' once the peer ended the stream.
    this.resume();
    this.drain();
  }

  onRemoteEnd(): void {
    this.remoteEnded = true;
    this.drain();
  }

  /** The peer reset the stream. */
  onReset(code: number): void {
    this.rstCode = code;
    this.finish();
    // As node:http2: NO_ERROR and CANCEL end the stream without an error ('close' with `aborted` set); the
    // other codes are failures worth an 'error'.
    if (code === ErrorCode.NO_ERROR || code === ErrorCode.CANCEL) this.destroy();
    else this.destroy(new L4meshError('L4MESH_ERR_HTTP2_STREAM_RESET', `the peer reset HTTP/2 stream ${this.id} (${errorCodeName(code)})`));
  }

  /** The session ended underneath the stream. */
  abort(error: Error | undefined, code?: number): void {
    // As node:http2: a stream ended by a broken connection reads as INTERNAL_ERROR, not as a clean close.
    if (code !== undefined) this.rstCode = code;
    else if (error && this.rstCode === undefined) this.rstCode = ErrorCode.INTERNAL_ERROR;
    this.finish();
    this.destroy(error);
  }

  /** Called by the session after END_STREAM went out. */
  onLocalEnd(): void {
    this.localEnded = true;
    this.maybeClosed();
  }

  override _read(): void {
    this.wantData = true;
    this.drain();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.owner.sendData(this, chunk, false, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.localEnded || this.finished) return done();
    this.owner.sendData(this, Buffer.alloc(0), true, done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    for (const release of this.holds) release?.();
    this.holds.length = 0;
    this.queue.length = 0;
    this.heldPieces = 0;
    if (!this.finished) {
      const code = ErrorCode.CANCEL;
      this.owner.resetStream(this, code);
      this.rstCode = code;
      this.finish();
    }
    done(err);
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && (this.sink ? !this.isPaused() : this.wantData)) {
        const chunk = this.queue.shift()!;
        const release = this.holds.shift();
        if (release) this.heldPieces--;
        this.consumed += chunk.length;
        if (this.sink) {
          this.sink(chunk, release ?? noRelease);
        } else if (release) {
          // The readable side's consumers may keep what they read: they get a copy of their own.
          this.wantData = this.push(Buffer.from(chunk));
          release();
        } else {
          this.wantData = this.push(chunk);
        }
      }
      if (this.remoteEnded && this.queue.length === 0 && !this.endPushed) {
        this.endPushed = true;
        this.push(null);
        this.maybeClosed();
      }
    } finally {
      this.draining = false;
    }
    // Granting at half the window keeps WINDOW_UPDATEs rare while the sender never runs dry.
    if (!this.remoteEnded && this.consumed >= this.windowBytes / 2 && !this.finished) {
      this.recvWindow += this.consumed;
      this.owner.grantWindow(this, this.consumed);
      this.consumed = 0;
    }
  }

  private maybeClosed(): void {
    if (this.localEnded && this.remoteEnded && !this.finished) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    // node:http2 reports NO_ERROR for a stream that closed without a reset; splice reads it that way.
    if (this.rstCode === undefined) this.rstCode = ErrorCode.NO_ERROR;
    this.pending = undefined;
    this.owner.streamClosed(this);
  }

  /** Received bytes not yet handed to the readable side (bounded by the window we granted). */
  get queuedBytes(): number {
    let n = 0;
    for (const chunk of this.queue) n += chunk.length;
    return n;
  }

  /** The connection this stream belongs to (node:http2's `stream.session`). */
  get session(): StreamOwner {
    return this.owner;
  }

  /** node:http2's `aborted`: the stream was reset or its connection broke. */
  get aborted(): boolean {
    return this.rstCode !== undefined && this.rstCode !== ErrorCode.NO_ERROR;
  }

  get isFinished(): boolean {
    return this.finished;
  }
}
