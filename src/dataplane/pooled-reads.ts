// Socket reads into one shared buffer, copied into recycled slabs, instead of a new 64 KiB ArrayBuffer
// per read. On a bulk tunnel the per-read buffers were the proxy's largest garbage source: each one is
// external memory to V8, and the node proxy reading a client at ~2 Gbit/s ran a major (mark-compact) GC
// several times a second — ~20 % of its CPU in `perf`, most of it on V8's marking threads.
import { connect, Socket, type OnReadOpts, type TcpNetConnectOpts } from 'node:net';
import { readsIntoUserBuffer, userReadBufferProblem, useUserReadBuffer } from './node-compat.js';

/** libuv reads at most this much per callback into the shared buffer (Node's own read size). */
export const READ_BUFFER_BYTES = 64 * 1024;
/** Copies are carved out of slabs of this size; a slab is reused once every chunk in it was written. */
const SLAB_BYTES = 1024 * 1024;
/** Slabs kept for reuse beyond the one in use; more than this is left to the GC after a burst. */
const MAX_FREE_SLABS = 16;

/**
 * The one buffer libuv reads into for every pooled socket of the process. Safe to share: a read callback
 * runs to completion on the event loop before the next read starts, and it copies the bytes out.
 */
const shared = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);

interface Slab {
  readonly bytes: Buffer;
  used: number;
  /** Chunks carved from this slab whose writes have not completed yet. */
  refs: number;
}

const newSlab = (): Slab => ({ bytes: Buffer.allocUnsafeSlow(SLAB_BYTES), used: 0, refs: 0 });

const free: Slab[] = [];
let current: Slab | undefined;

/** A copy of `length` bytes of the shared buffer; `release` must be called once it was written. */
export interface PooledChunk {
  bytes: Buffer;
  release(): void;
}

/** Copies `length` bytes from `sources` (in order) into a slab; at most SLAB_BYTES. */
export function copyToSlab(sources: readonly Buffer[], length: number): PooledChunk {
  let slab = current;
  if (!slab || slab.used + length > SLAB_BYTES) {
    if (slab && slab.refs === 0) slab.used = 0;
    else slab = current = free.pop() ?? newSlab();
  }
  const at = slab.used;
  let to = at;
  for (const source of sources) to += source.copy(slab.bytes, to, 0, Math.min(source.length, at + length - to));
  slab.used += length;
  slab.refs++;
  const owner = slab;
  let released = false;
  return {
    bytes: slab.bytes.subarray(at, at + length),
    release: () => {
      if (released) return;
      released = true;
      if (--owner.refs > 0) return;
      if (owner === current) {
        owner.used = 0;
      } else if (free.length < MAX_FREE_SLABS) {
        owner.used = 0;
        free.push(owner);
      }
      // A slab whose last write never completed (its stream was torn down) is simply collected.
    },
  };
}

export type ChunkHandler = (chunk: PooledChunk) => void;

const handlers = new WeakMap<Socket, ChunkHandler>();
/** Bytes read before a handler was attached, kept until onChunks(). */
const early = new WeakMap<Socket, Buffer[]>();
/** Sockets whose reads go through this module. */
const pooled = new WeakSet<Socket>();

/** The `onread` callback; it pauses through `pause()` (returning false would stop reading behind the stream's back). */
function onRead(this: Socket, length: number): true {
  const handler = handlers.get(this);
  if (handler) {
    handler(copyToSlab([shared], length));
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
    for (const bytes of waiting) handler({ bytes, release: () => {} });
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
