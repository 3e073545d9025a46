// Socket reads into one shared buffer, copied into recycled slabs, instead of the new ArrayBuffer Node
// gives every read (64 KiB for a plain socket, up to 16 KiB per decrypted piece for a TLS socket). On a bulk
// tunnel the per-read buffers were the proxy's largest garbage source: each one is external memory to V8,
// and the node proxy reading a client at ~2 Gbit/s ran a major (mark-compact) GC several times a second —
// ~20 % of its CPU in `perf`, most of it on V8's marking threads.
import { connect, Socket, type OnReadOpts, type TcpNetConnectOpts } from 'node:net';
import type { Duplex } from 'node:stream';
import { readsIntoUserBuffer, userReadBufferProblem, useUserReadBuffer } from './node-compat.js';

/**
 * libuv reads at most this much per callback into the shared buffer. Node's own read size is 64 KiB; a
 * proxy that is the bottleneck finds more than that waiting, and each read it saves is one callback,
 * one slab copy, one DATA frame and one TLS write less (A/B: 11-21 % less proxy CPU per GB, 1 connection).
 */
export const READ_BUFFER_BYTES = 256 * 1024;
/** Slab size and reuse bound for plaintext reads (up to READ_BUFFER_BYTES each) and for splice's coalesced writes. */
const SLAB_BYTES = 1024 * 1024;
/** Slabs kept for reuse beyond the one in use; more than this is left to the GC after a burst. */
const MAX_FREE_SLABS = 16;
/**
 * Decrypted TLS reads arrive in pieces of at most 16 KiB and may wait in an HTTP/2 stream's queue while its
 * reader is slow; small slabs keep one waiting piece from holding a megabyte of otherwise free memory.
 */
const TLS_SLAB_BYTES = 64 * 1024;
const MAX_FREE_TLS_SLABS = 64;

/**
 * The one buffer libuv reads into for every pooled socket of the process. Safe to share: a read callback
 * runs to completion on the event loop before the next read starts, and it copies the bytes out.
 */
const shared = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);

/** A copy of `length` bytes of the shared buffer; `release` must be called once it was written. */
export interface PooledChunk {
  bytes: Buffer;
  release(): void;
  /**
   * Another hold on the chunk's memory (a view of `bytes` kept past `release`), dropped by calling the
   * returned function once; the slab is reused only when the chunk and every hold on it were released.
   */
  retain(): () => void;
}

interface Slab {
  readonly bytes: Buffer;
  used: number;
  /** Holds on chunks carved from this slab that were not released yet. */
  refs: number;
  /** Where the chunks copied with headroom start whose headroom was not taken yet (see takeHeadroom). */
  readonly headroomAt: number[];
}

/** Each slab by its memory: takeHeadroom finds the slab of a chunk's bytes without a table entry per chunk. */
const slabOfMemory = new WeakMap<ArrayBufferLike, Slab>();

/** Part of a slab set aside for a read that has not happened yet. */
interface Region {
  readonly slab: Slab;
  readonly at: number;
  readonly bytes: Buffer;
}

function newSlab(size: number): Slab {
  const slab: Slab = { bytes: Buffer.allocUnsafeSlow(size), used: 0, refs: 0, headroomAt: [] };
  slabOfMemory.set(slab.bytes.buffer, slab);
  return slab;
}

/** Makes the whole slab free for new copies: nothing carved from it before has headroom to give any more. */
function emptySlab(slab: Slab): void {
  slab.used = 0;
  slab.headroomAt.length = 0;
}

/** Keeps the first `length` bytes of a region; the rest goes back to its slab when nothing was reserved after it. */
function keepOfRegion(region: Region, length: number): void {
  if (region.slab.used === region.at + region.bytes.length) region.slab.used = region.at + length;
}

/** Recycled slabs that copies are carved from. */
class SlabPool {
  private readonly free: Slab[] = [];
  private current: Slab | undefined;

  constructor(
    private readonly slabBytes: number,
    private readonly maxFree: number,
  ) {}

  /**
   * Copies `length` bytes from `sources` (in order) into a slab, or into a buffer of its own when longer than
   * a slab. `headroom` bytes in front of the copy are reserved for the chunk too (see takeHeadroom).
   */
  copy(sources: readonly Buffer[], length: number, headroom = 0): PooledChunk {
    if (headroom + length > this.slabBytes) return unpooled(Buffer.concat(sources, length));
    const slab = this.slabWithRoom(headroom + length);
    const at = slab.used + headroom;
    let to = at;
    for (const source of sources) to += source.copy(slab.bytes, to, 0, Math.min(source.length, at + length - to));
    slab.used = at + length;
    if (headroom > 0) slab.headroomAt.push(at);
    return this.chunk(slab, at, length);
  }

  /**
   * Sets aside the next `length` bytes of a slab for a read to land in (see readPooledChunks): the slab is
   * not reused while the region is reserved. `commit` or `cancel` ends the reservation.
   */
  reserve(length: number): Region {
    const slab = this.slabWithRoom(length);
    const at = slab.used;
    slab.used = at + length;
    slab.refs++;
    return { slab, at, bytes: slab.bytes.subarray(at, at + length) };
  }

  /**
   * The first `length` bytes of a reserved region as a chunk. The rest of the region goes back to the slab
   * when nothing was reserved after it, so that the next reservation follows these bytes.
   */
  commit(region: Region, length: number): PooledChunk {
    keepOfRegion(region, length);
    const chunk = this.chunk(region.slab, region.at, length);
    this.unref(region.slab);
    return chunk;
  }

  /** Gives a reserved region back unused (its socket closed). */
  cancel(region: Region): void {
    keepOfRegion(region, 0);
    this.unref(region.slab);
  }

  /** The current slab when `length` more bytes fit in it; otherwise a released one, or a new one. */
  private slabWithRoom(length: number): Slab {
    let slab = this.current;
    if (!slab || slab.used + length > this.slabBytes) {
      if (slab && slab.refs === 0) emptySlab(slab);
      else slab = this.current = this.free.pop() ?? newSlab(this.slabBytes);
    }
    return slab;
  }

  private chunk(slab: Slab, at: number, length: number): PooledChunk {
    const hold = (): (() => void) => {
      slab.refs++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        this.unref(slab);
      };
    };
    return { bytes: slab.bytes.subarray(at, at + length), release: hold(), retain: hold };
  }

  private unref(slab: Slab): void {
    if (--slab.refs === 0) this.recycle(slab);
  }

  private recycle(slab: Slab): void {
    if (slab === this.current) {
      emptySlab(slab);
    } else if (this.free.length < this.maxFree) {
      emptySlab(slab);
      this.free.push(slab);
    }
    // A slab whose last hold was never released (its stream was torn down) is simply collected.
  }
}

const slabs = new SlabPool(SLAB_BYTES, MAX_FREE_SLABS);
const tlsSlabs = new SlabPool(TLS_SLAB_BYTES, MAX_FREE_TLS_SLABS);

/** Copies `length` bytes from `sources` (in order) into a slab (a buffer of its own beyond SLAB_BYTES). */
export function copyToSlab(sources: readonly Buffer[], length: number): PooledChunk {
  return slabs.copy(sources, length);
}

/** A buffer of its own, shaped as a pooled chunk: nothing to release. */
function unpooled(bytes: Buffer): PooledChunk {
  const none = (): void => {};
  return { bytes, release: none, retain: () => none };
}

export type ChunkHandler = (chunk: PooledChunk) => void;

const handlers = new WeakMap<Socket, ChunkHandler>();
/** Bytes read before a handler was attached, kept until onChunks(). */
const early = new WeakMap<Socket, Buffer[]>();
/** Sockets whose reads go through this module. */
const pooled = new WeakSet<Socket>();

/**
 * Bytes reserved in front of every plain read's copy: an HTTP/2 frame header. A read bound for an HBONE
 * stream then leaves as one buffer, header and payload together. Node's TLS socket joins the buffers of a
 * write of several into a new allocation before encrypting it (TLSWrap::DoWrite), so a header written as a
 * buffer of its own cost an allocation and a copy of every payload byte.
 */
const READ_HEADROOM_BYTES = 9;

/**
 * `bytes` (or its first `payloadBytes`) with `headerBytes` in front of it, as one buffer over the same
 * memory, when `bytes` is a pooled read whose reserved headroom is that large and was not taken yet;
 * undefined otherwise. The caller writes its header into the first `headerBytes`.
 */
export function takeHeadroom(bytes: Buffer, headerBytes: number, payloadBytes = bytes.length): Buffer | undefined {
  if (headerBytes > READ_HEADROOM_BYTES) return undefined;
  // Per slab, not per chunk: a WeakSet entry per read (an ephemeron table insert, and its GC barrier) was
  // most of a plain read's callback in the latency profile. The latest copy is last, so the search is short.
  const offsets = slabOfMemory.get(bytes.buffer)?.headroomAt;
  if (!offsets) return undefined;
  const i = offsets.lastIndexOf(bytes.byteOffset);
  if (i < 0) return undefined;
  offsets[i] = offsets[offsets.length - 1]!;
  offsets.pop();
  return Buffer.from(bytes.buffer, bytes.byteOffset - headerBytes, headerBytes + Math.min(payloadBytes, bytes.length));
}

/** The `onread` callback; it pauses through `pause()` (returning false would stop reading behind the stream's back). */
function onRead(this: Socket, length: number): true {
  const handler = handlers.get(this);
  if (handler) {
    handler(slabs.copy([shared], length, READ_HEADROOM_BYTES));
    return true;
  }
  // Nobody consumes yet: keep a copy of the bytes and stop reading until a handler is attached.
  const waiting = early.get(this) ?? [];
  waiting.push(Buffer.from(shared.subarray(0, length)));
  early.set(this, waiting);
  this.pause();
  return true;
}

/** `net.connect` with the socket reading through the shared buffer (a plain `net.connect` when pooled reads are off). */
export function connectPooled(options: TcpNetConnectOpts): Socket {
  if (!status.active) return connect(options);
  const socket = connect({ ...options, onread: { buffer: shared, callback: onRead as OnReadOpts['callback'] } });
  pooled.add(socket);
  return socket;
}

export function isPooled(socket: unknown): socket is Socket {
  return socket instanceof Socket && pooled.has(socket);
}

/**
 * Sends the socket's bytes to `handler` from now on (bytes that arrived before go first) and starts
 * reading. The handler pauses the socket when its destination is full; `resume()` restarts it.
 */
export function onChunks(socket: Socket, handler: ChunkHandler): void {
  handlers.set(socket, handler);
  const waiting = early.get(socket);
  if (waiting) {
    early.delete(socket);
    for (const bytes of waiting) handler(unpooled(bytes));
  }
  socket.resume();
}

/** Whether sockets read through the shared buffer, and if not, why; /config_dump shows it. */
export interface PooledReadsStatus {
  active: boolean;
  /** Set once the start-up self-test (pooled-reads-self-test.ts) ran and passed. */
  selfTested: boolean;
  /** Why pooled reads are off. */
  reason?: string;
}

let status: PooledReadsStatus = { active: true, selfTested: false };

export function pooledReadsStatus(): PooledReadsStatus {
  return { ...status };
}

/** Records a passed self-test. */
export function markPooledReadsTested(): void {
  if (status.active) status = { active: true, selfTested: true };
}

/**
 * Turns pooled reads off for the rest of the process: new sockets read the usual way. Returns true the
 * first time, so the caller logs the reason once.
 */
export function disablePooledReads(reason: string): boolean {
  if (!status.active) return false;
  status = { active: false, selfTested: status.selfTested, reason };
  return true;
}

/**
 * Switches a socket accepted by a `net.Server` created with `pauseOnConnect: true` (or made from an fd
 * with `manualStart` and not connected yet) to pooled reads
 * (through node-compat.ts). Returns false, leaving the socket as it was, when pooled reads are off or
 * this Node lacks the internals — which then turns them off, with the reason, for every later socket.
 */
export function adoptAccepted(socket: Socket): boolean {
  if (!status.active || readsIntoUserBuffer(socket)) return false;
  const problem = userReadBufferProblem(socket);
  if (problem) {
    disablePooledReads(problem);
    return false;
  }
  useUserReadBuffer(socket, shared, onRead);
  pooled.add(socket);
  return true;
}

/**
 * Node's TLS socket decrypts into a 16 KiB buffer of its own and copies each piece (at most one record's
 * plaintext) into the read buffer it is given (TLSWrap::ClearOut): a region of this size holds any piece.
 */
const TLS_READ_REGION_BYTES = 16 * 1024;

/**
 * Makes a TLS socket (or any socket on a native handle) hand its reads to `handler` as chunks of small
 * recycled slabs, instead of emitting each decrypted piece (≤ 16 KiB) as 'data' in a new ArrayBuffer: on a
 * bulk HBONE tunnel those buffers made the receiving proxy run a GC for "external memory pressure" every
 * ~50 ms and, every few runs, continuous incremental marking. Each piece lands straight in a region of a slab
 * reserved for this socket's next read, so it is not copied again; the next region follows it, so the
 * pieces of one tunnel lie next to each other and splice can send them as one (see coalesce). That keeps
 * 16 KiB reserved per socket, which is why only HBONE connections (a few per peer proxy) read this way.
 * Bytes already buffered on the socket go to the handler first. The handler must copy or `retain()` what it
 * keeps past its return. Returns false, leaving the stream as it was, when pooled reads are off, the stream is
 * no socket (an in-process duplex), is gone already, or its handle cannot read into a user buffer (the
 * caller then reads 'data' as usual).
 */
export function readPooledChunks(socket: Duplex, handler: ChunkHandler): boolean {
  if (!status.active || !(socket instanceof Socket) || socket.destroyed || readsIntoUserBuffer(socket) || userReadBufferProblem(socket)) return false;
  let buffered: Buffer | null;
  while ((buffered = socket.read() as Buffer | null) !== null) {
    handler(unpooled(buffered));
  }
  let region = tlsSlabs.reserve(TLS_READ_REGION_BYTES);
  const onRead = function (this: Socket, length: number): true {
    const chunk = tlsSlabs.commit(region, length);
    region = tlsSlabs.reserve(TLS_READ_REGION_BYTES);
    try {
      handler(chunk);
    } finally {
      chunk.release();
    }
    return true;
  };
  useUserReadBuffer(socket, region.bytes, onRead, () => region.bytes);
  socket.once('close', () => tlsSlabs.cancel(region));
  // Reads through a user buffer bypass the readable side, so it has to be flowing for 'end' to be emitted.
  socket.resume();
  return true;
}
