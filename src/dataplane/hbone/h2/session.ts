// One HTTP/2 connection over a TLS socket: settings, flow control, PING, GOAWAY, RST_STREAM and header
// blocks. The socket is always read: a slow stream is held back by its own window, never by the socket.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { L4meshError } from '../../../errors/index.js';
import {
  DEFAULT_MAX_FRAME_BYTES, DEFAULT_WINDOW, ErrorCode, FRAME_HEADER_BYTES, Flag, FrameParser, FrameType, H2ProtocolError,
  MAX_ALLOWED_FRAME_BYTES, MAX_WINDOW, SettingId, errorCodeName, frameHeader, goawayFrame, headerBlockFrames, pingFrame,
  rstStreamFrame, settingsAckFrame, settingsFrame, windowUpdateFrame, writeFrameHeader, type Frame,
} from './frames.js';
import { HpackDecoder, hpackEncode } from './hpack.js';
import { H2Stream, type StreamOwner } from './stream.js';
import { onControlFrame } from './control.js';
import { onDataFrame } from './data-receipt.js';
import { watchLiveness } from './liveness.js';
import { readPooledChunks, takeHeadroom, type PooledChunk } from '../../pooled-reads.js';
import { SocketWriter } from '../../socket-writer.js';

const MiB = 1024 * 1024;
/** Per-stream receive window (DESIGN §5: 1–4 MiB once the socket is always read). */
export const DEFAULT_H2_STREAM_WINDOW_BYTES = 1 * MiB;
/** Same cap as the node:http2 pool's streams per connection. */
export const DEFAULT_H2_MAX_CONCURRENT_STREAMS = 100;
/** ztunnel's value: a 64 KiB write goes out as one frame, not four. */
export const DEFAULT_H2_MAX_FRAME_BYTES = 1 * MiB;
/** HBONE requests carry five short fields; 16 KiB is generous and stops a header bomb early. */
export const DEFAULT_H2_MAX_HEADER_LIST_BYTES = 16 * 1024;

/** How long a GOAWAY for a protocol error may take to reach the peer before the socket is cut. */
const GOAWAY_FLUSH_MS = 2_000;

export interface H2SessionOptions {
  /** Send a PING this often (ms) and close the connection if one goes unanswered for `pingTimeoutMs`. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  streamWindowBytes?: number;
  maxConcurrentStreams?: number;
  maxFrameBytes?: number;
  maxHeaderListBytes?: number;
}

export interface RemoteSettings {
  maxConcurrentStreams?: number;
  initialWindowSize: number;
  maxFrameSize: number;
}

export abstract class H2Session extends EventEmitter implements StreamOwner {
  readonly socket: Duplex;
  readonly remoteSettings: RemoteSettings = { initialWindowSize: DEFAULT_WINDOW, maxFrameSize: DEFAULT_MAX_FRAME_BYTES };
  closed = false;
  destroyed = false;
  /** Set once the peer sent GOAWAY: no new streams on this connection. */
  goawayReceived = false;

  protected readonly streams = new Map<number, H2Stream>();
  protected readonly streamWindow: number;
  protected readonly maxConcurrent: number;
  protected readonly maxHeaderList: number;
  /** Highest stream id the peer opened (server) or we opened (client). */
  protected lastPeerStream = 0;
  protected lastLocalStream = 0;
  protected goawaySent = false;
  /** The first frame from the peer must be SETTINGS. */
  protected settingsSeen = false;

  readonly parser: FrameParser;
  readonly decoder = new HpackDecoder();
  connSendWindow = DEFAULT_WINDOW;
  /** Connection receive window: what the peer may still send, bytes received since the last grant, and its size. */
  connRecvWindow: number;
  connConsumed = 0;
  readonly connWindow: number;
  private readonly blocked = new Set<H2Stream>();
  /** Every write to the socket goes through this, so that a batch never overtakes the one before it. */
  private readonly writer: SocketWriter;
  /** Frames are collected until the end of this event-loop turn (see write()). */
  private batching = false;
  headerBlock: { stream: number; parts: Buffer[]; bytes: number; endStream: boolean } | undefined;
  private readonly pings = new Map<string, (rtt: number) => void>();
  /** The pooled read being parsed: DATA payloads are views of it, held until their stream's reader took them. */
  private receiving: PooledChunk | undefined;
  private pingSeq = 0;

  constructor(socket: Duplex, options: H2SessionOptions, isServer: boolean) {
    super();
    this.socket = socket;
    this.writer = new SocketWriter(socket);
    this.streamWindow = options.streamWindowBytes ?? DEFAULT_H2_STREAM_WINDOW_BYTES;
    this.maxConcurrent = options.maxConcurrentStreams ?? DEFAULT_H2_MAX_CONCURRENT_STREAMS;
    this.maxHeaderList = options.maxHeaderListBytes ?? DEFAULT_H2_MAX_HEADER_LIST_BYTES;
    const maxFrame = options.maxFrameBytes ?? DEFAULT_H2_MAX_FRAME_BYTES;
    // DESIGN §5: the connection window never binds before the stream windows do.
    this.connWindow = Math.min(MAX_WINDOW, Math.max(DEFAULT_WINDOW, this.maxConcurrent * this.streamWindow));
    this.connRecvWindow = this.connWindow;
    this.parser = new FrameParser(maxFrame, (frame) => this.onFrame(frame));
    if (!readPooledChunks(socket, (chunk) => this.onPooledChunk(chunk))) socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('close', () => this.onSocketClose());
    socket.on('error', (err) => this.destroy(err));
    const settings: Array<[number, number]> = [
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.INITIAL_WINDOW_SIZE, this.streamWindow],
      [SettingId.MAX_FRAME_SIZE, maxFrame],
      [SettingId.MAX_HEADER_LIST_SIZE, this.maxHeaderList],
    ];
    if (isServer) settings.push([SettingId.MAX_CONCURRENT_STREAMS, this.maxConcurrent]);
    this.writePreface();
    this.write(settingsFrame(settings));
    if (this.connWindow > DEFAULT_WINDOW) this.write(windowUpdateFrame(0, this.connWindow - DEFAULT_WINDOW));
    if (options.pingIntervalMs) watchLiveness(this, options.pingIntervalMs, options.pingTimeoutMs ?? options.pingIntervalMs);
  }

  protected abstract writePreface(): void;
  /** Received bytes before the frame parser (the server checks the client preface here). */
  protected abstract onSocketData(chunk: Buffer): void;
  /** A complete header block for `stream`. */
  abstract onHeaderBlock(streamId: number, fields: Array<[string, string]>, endStream: boolean): void;

  /** Sends GOAWAY; streams already open finish, then the connection closes. */
  close(callback?: () => void): void {
    if (callback) this.once('close', callback);
    if (this.closed) return;
    this.closed = true;
    if (!this.destroyed) this.sendGoaway(ErrorCode.NO_ERROR, '');
    this.maybeEnd();
  }

  /** `flush`: let queued frames (a GOAWAY) reach the peer before the socket closes. */
  destroy(error?: Error, flush = false): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closed = true;
    // Like node:http2: a local destroy() without an error ends the streams without one too.
    for (const stream of [...this.streams.values()]) stream.abort(error);
    if (flush) {
      this.writer.end();
      setTimeout(() => this.socket.destroy(), GOAWAY_FLUSH_MS).unref();
    } else {
      this.socket.destroy();
    }
    // Streams carry the error to their users; a session without an 'error' listener must not crash the proxy.
    if (error && this.listenerCount('error') > 0) this.emit('error', error);
  }

  /** Round trip of a PING in ms; rejects if the connection ends first. */
  ping(): Promise<number> {
    const opaque = Buffer.alloc(8);
    opaque.writeUInt32BE(++this.pingSeq, 4);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      if (this.destroyed) return reject(new L4meshError('L4MESH_ERR_HTTP2_CONNECTION', 'PING on a closed HTTP/2 connection'));
      const onClose = (): void => reject(new L4meshError('L4MESH_ERR_HTTP2_CONNECTION', 'the HTTP/2 connection closed before the PING was answered'));
      this.once('close', onClose);
      this.pings.set(opaque.toString('hex'), () => {
        this.off('close', onClose);
        resolve(performance.now() - started);
      });
      this.write(pingFrame(opaque, false));
    });
  }

  get openStreamCount(): number {
    return this.streams.size;
  }

  // ---- StreamOwner ----

  sendHeaders(stream: H2Stream, fields: Array<[string, string]>, endStream: boolean): void {
    if (this.destroyed) return;
    for (const part of headerBlockFrames(stream.id, hpackEncode(fields), endStream, this.remoteSettings.maxFrameSize)) this.write(part);
  }

  sendData(stream: H2Stream, chunk: Buffer, endStream: boolean, done: (err?: Error | null) => void): void {
    if (this.destroyed || stream.isFinished) {
      return done(new L4meshError('L4MESH_ERR_HTTP2_STREAM_RESET', `HTTP/2 stream ${stream.id} is closed`));
    }
    stream.pending = { chunk, offset: 0, end: endStream, done };
    this.flushStream(stream);
  }

  grantWindow(stream: H2Stream, bytes: number): void {
    if (!this.destroyed) this.write(windowUpdateFrame(stream.id, bytes));
  }

  resetStream(stream: H2Stream, code: number): void {
    if (!this.destroyed && !stream.isFinished) this.write(rstStreamFrame(stream.id, code));
  }

  streamClosed(stream: H2Stream): void {
    this.streams.delete(stream.id);
    this.blocked.delete(stream);
    this.maybeEnd();
  }

  // ---- sending ----

  /**
   * Queues `buffer` for the socket; `written` runs once the socket is done with it (sent, or failed): then
   * its memory may be reused. Everything written in one turn of the event loop, on every stream, leaves
   * in one writev at its end (TLS records + one syscall), as nghttp2 sends once per turn: a new tunnel's
   * HEADERS, DATA and WINDOW_UPDATEs used to be one TLS record and one syscall each. The batch goes to the
   * socket's handle, not through its Writable, when Node allows (SocketWriter).
   */
  write(buffer: Buffer, written?: (err?: Error | null) => void): void {
    if (this.destroyed) return;
    if (!this.batching) {
      this.batching = true;
      setImmediate(this.sendBatch);
    }
    this.writer.add(buffer, written);
  }

  private readonly sendBatch = (): void => {
    this.batching = false;
    this.writer.flush();
  };

  /**
   * Sends as much of the stream's pending write as both windows allow, each frame header and slice into the
   * turn's batch. The write completes when the socket is done with its last slice: callers (splice) reuse
   * the memory of a completed write.
   */
  flushStream(stream: H2Stream): void {
    const p = stream.pending;
    if (!p) return;
    const maxFrame = this.remoteSettings.maxFrameSize;
    while (p.offset < p.chunk.length) {
      const n = Math.min(p.chunk.length - p.offset, maxFrame, stream.sendWindow, this.connSendWindow);
      if (n <= 0) break;
      const last = p.offset + n === p.chunk.length;
      const flags = last && p.end ? Flag.END_STREAM : 0;
      // A plain read's first frame goes as one buffer, its header in the headroom in front of the payload.
      const framed = p.offset === 0 ? takeHeadroom(p.chunk, FRAME_HEADER_BYTES, n) : undefined;
      if (framed) {
        writeFrameHeader(framed, 0, n, FrameType.DATA, flags, stream.id);
        this.write(framed, last ? p.done : undefined);
      } else {
        this.write(frameHeader(n, FrameType.DATA, flags, stream.id));
        this.write(p.chunk.subarray(p.offset, p.offset + n), last ? p.done : undefined);
      }
      p.offset += n;
      stream.sendWindow -= n;
      this.connSendWindow -= n;
    }
    if (p.chunk.length === 0 && p.end) this.write(frameHeader(0, FrameType.DATA, Flag.END_STREAM, stream.id), p.done);
    if (p.offset < p.chunk.length) {
      this.blocked.add(stream);
      return;
    }
    this.blocked.delete(stream);
    stream.pending = undefined;
    if (p.end) stream.onLocalEnd();
  }

  /** After a window grew: blocked streams in turn, while the connection window lasts. */
  flushBlocked(): void {
    for (const stream of [...this.blocked]) {
      if (this.connSendWindow <= 0) return;
      this.flushStream(stream);
    }
  }

  sendGoaway(code: number, debug: string): void {
    if (this.goawaySent) return;
    this.goawaySent = true;
    this.write(goawayFrame(this.lastPeerStream, code, debug));
  }

  // ---- receiving ----

  private onPooledChunk(chunk: PooledChunk): void {
    this.receiving = chunk;
    try {
      this.onSocketData(chunk.bytes);
    } finally {
      this.receiving = undefined;
    }
  }

  /**
   * A hold on the memory of the read being parsed, for a payload view kept past this read; undefined when
   * the socket reads the usual way (each read is a buffer of its own, which the GC keeps alive).
   */
  holdReceived(): (() => void) | undefined {
    return this.receiving?.retain();
  }

  protected feed(chunk: Buffer): void {
    try {
      this.parser.push(chunk);
    } catch (err) {
      this.fail(err);
    }
  }

  /** A protocol error: RST_STREAM for a stream error, GOAWAY and close for a connection error. */
  fail(err: unknown): void {
    if (err instanceof H2ProtocolError && err.stream !== 0) {
      const stream = this.streams.get(err.stream);
      this.write(rstStreamFrame(err.stream, err.h2Code));
      stream?.abort(err, err.h2Code);
      return;
    }
    const code = err instanceof H2ProtocolError ? err.h2Code : ErrorCode.INTERNAL_ERROR;
    const error = err instanceof L4meshError ? err : new L4meshError('L4MESH_ERR_HTTP2_CONNECTION', `HTTP/2 internal error: ${(err as Error).message}`, { cause: err });
    this.goawaySent = false;
    this.sendGoaway(code, error.message.slice(0, 200));
    this.destroy(error, true);
  }

  private onFrame(frame: Frame): void {
    if (this.destroyed) return;
    if (this.headerBlock && (frame.type !== FrameType.CONTINUATION || frame.stream !== this.headerBlock.stream)) {
      throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 0, `frame type ${frame.type} inside a header block of stream ${this.headerBlock.stream}`);
    }
    if (!this.settingsSeen && frame.type !== FrameType.SETTINGS) {
      throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 0, 'the first frame was not SETTINGS');
    }
    if (frame.type === FrameType.DATA) return onDataFrame(this, frame);
    onControlFrame(this, frame);
  }

  /** Ids at or below the highest opened by either side were used; anything above is idle. */
  isKnownStreamId(id: number): boolean {
    return id % 2 === 1 ? id <= Math.max(this.lastPeerStream, this.lastLocalStream) : false;
  }

  createStream(id: number): H2Stream {
    const stream = new H2Stream(this, id, this.streamWindow, this.remoteSettings.initialWindowSize);
    this.streams.set(id, stream);
    return stream;
  }

  stream(id: number): H2Stream | undefined {
    return this.streams.get(id);
  }

  allStreams(): IterableIterator<H2Stream> {
    return this.streams.values();
  }

  decodeHeaders(block: Buffer): Array<[string, string]> {
    try {
      return this.decoder.decode(block, this.maxHeaderList);
    } catch (err) {
      const tooLarge = (err as { tooLarge?: boolean }).tooLarge === true;
      throw new H2ProtocolError(tooLarge ? ErrorCode.ENHANCE_YOUR_CALM : ErrorCode.COMPRESSION_ERROR, 0, (err as Error).message);
    }
  }

  onPingAck(opaque: Buffer): void {
    const key = opaque.toString('hex');
    const waiter = this.pings.get(key);
    this.pings.delete(key);
    waiter?.(0);
  }

  onGoaway(lastStream: number, code: number): void {
    this.goawayReceived = true;
    for (const stream of [...this.streams.values()]) {
      if (stream.id > lastStream && stream.id % 2 === 1 && this.isLocalStream(stream.id)) {
        stream.abort(new L4meshError('L4MESH_ERR_HTTP2_STREAM_RESET', `the peer sent GOAWAY (${errorCodeName(code)}) before processing stream ${stream.id}; it may be retried`), ErrorCode.REFUSED_STREAM);
      }
    }
    this.emit('goaway', code, lastStream);
    this.closed = true;
    this.maybeEnd();
  }

  protected abstract isLocalStream(id: number): boolean;

  /** True after the first SETTINGS; the first call returns false. */
  settingsSeenOnce(): boolean {
    const seen = this.settingsSeen;
    this.settingsSeen = true;
    return seen;
  }

  checkFrameSizeSetting(value: number): void {
    if (value < DEFAULT_MAX_FRAME_BYTES || value > MAX_ALLOWED_FRAME_BYTES) {
      throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 0, `SETTINGS_MAX_FRAME_SIZE ${value} out of range`);
    }
  }

  ackSettings(): void {
    this.write(settingsAckFrame());
  }

  private maybeEnd(): void {
    if (this.closed && !this.destroyed && this.streams.size === 0) {
      this.writer.end();
    }
  }

  private onSocketClose(): void {
    const wasDestroyed = this.destroyed;
    this.destroyed = true;
    this.closed = true;
    if (!wasDestroyed) {
      const cause = new L4meshError('L4MESH_ERR_HTTP2_CONNECTION', 'the HTTP/2 connection closed');
      for (const stream of [...this.streams.values()]) stream.abort(cause);
    }
    this.emit('close');
  }
}
