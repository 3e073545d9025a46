// The one module that relies on Node internals or on shapes Node does not export. Each piece says what it
// relies on; pooled reads are proven on the running Node at proxy start (pooled-reads-self-test.ts), handle
// writes by test/unit/node-compat/handle-writes.test.ts.
// package.json `engines` names the Node majors the tests run on; check every piece here on a new major.
import { setTimeout as sleep } from 'node:timers/promises';
import { getSystemErrorName } from 'node:util';
import type { Socket } from 'node:net';
import type { Http2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';

// --- Reflect metadata (first, so it is in place before any importer's next import evaluates) ---------
// tsyringe, inside @peculiar/x509, calls Reflect.getMetadata & co. at load time. Node has no Reflect
// metadata API and the reflect-metadata package is not a dependency, so a small WeakMap-backed stand-in
// is installed; a real polyfill loaded earlier is left untouched. identity/x509.ts imports this module.

type MetadataKey = unknown;
type PropertyKeyOrNone = string | symbol | undefined;

const metadataByTarget = new WeakMap<object, Map<PropertyKeyOrNone, Map<MetadataKey, unknown>>>();

function ownMetadataMap(target: object, property: PropertyKeyOrNone, create: boolean): Map<MetadataKey, unknown> | undefined {
  let byProperty = metadataByTarget.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    metadataByTarget.set(target, byProperty);
  }
  let values = byProperty.get(property);
  if (!values && create) {
    values = new Map();
    byProperty.set(property, values);
  }
  return values;
}

function defineMetadata(key: MetadataKey, value: unknown, target: object, property?: string | symbol): void {
  ownMetadataMap(target, property, true)!.set(key, value);
}

function getOwnMetadata(key: MetadataKey, target: object, property?: string | symbol): unknown {
  return ownMetadataMap(target, property, false)?.get(key);
}

function getMetadata(key: MetadataKey, target: object, property?: string | symbol): unknown {
  // Bounded walk up the prototype chain, as the real API does for inherited metadata.
  for (let current: object | null = target, depth = 0; current && depth < 64; current = Object.getPrototypeOf(current), depth++) {
    const values = ownMetadataMap(current, property, false);
    if (values?.has(key)) return values.get(key);
  }
  return undefined;
}

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect['getMetadata'] !== 'function') {
  reflect['defineMetadata'] = defineMetadata;
  reflect['getOwnMetadata'] = getOwnMetadata;
  reflect['getMetadata'] = getMetadata;
}

// --- A user read buffer on an accepted socket ----------------------------------------------------------
// `net.Server` has no `onread` option, so pooled reads set on an accepted socket what the `onread` option
// of `net.Socket` sets: the `kBuffer` / `kBufferCb` / `kBufferGen` symbol properties (Node 20) and the
// handle's `useUserBuffer`. Found by symbol description, since the symbols are not exported.

type ReadInternals = Socket & { _handle?: { useUserBuffer?: (b: Buffer) => void } | null } & Record<symbol, unknown>;

/**
 * The symbols are module constants of node:net, the same on every socket, so each is searched for once and
 * remembered: the search (every symbol property of a socket, six times per accepted connection) was 1 % of
 * a node proxy's CPU in the connection-rate profile.
 */
const foundSymbols = new Map<string, symbol>();

function internalSymbol(socket: Socket, description: string): symbol | undefined {
  const known = foundSymbols.get(description);
  if (known !== undefined && Object.hasOwn(socket, known)) return known;
  const found = Object.getOwnPropertySymbols(socket).find((s) => s.description === description);
  if (found !== undefined) foundSymbols.set(description, found);
  return found;
}

/** Why this accepted socket cannot read into a user buffer on this Node; undefined when it can. */
export function userReadBufferProblem(socket: Socket): string | undefined {
  const s = socket as ReadInternals;
  const missing = ['kBuffer', 'kBufferCb', 'kBufferGen'].filter((d) => !internalSymbol(socket, d));
  if (missing.length) return `Node ${process.version} sockets have no ${missing.join(' / ')} symbol`;
  if (typeof s._handle?.useUserBuffer !== 'function') return `Node ${process.version} socket handles have no useUserBuffer()`;
  return undefined;
}

/** True when the socket already reads into a user buffer (created with `onread`, or adopted before). */
export function readsIntoUserBuffer(socket: Socket): boolean {
  const kBuffer = internalSymbol(socket, 'kBuffer');
  return kBuffer !== undefined && (socket as ReadInternals)[kBuffer] !== null;
}

/**
 * Makes libuv read the socket into `buffer` and call `onRead(length)`; with `next`, each read after that
 * goes into the buffer `next()` returns right after `onRead` (as `onread.buffer` given as a function).
 * Only after userReadBufferProblem() said none.
 */
export function useUserReadBuffer(socket: Socket, buffer: Buffer, onRead: (this: Socket, length: number) => boolean, next?: () => Buffer): void {
  const s = socket as ReadInternals;
  s[internalSymbol(socket, 'kBuffer')!] = buffer;
  s[internalSymbol(socket, 'kBufferCb')!] = onRead;
  if (next) s[internalSymbol(socket, 'kBufferGen')!] = next;
  s._handle!.useUserBuffer!(buffer);
}

// --- Writes straight to a socket's native handle -------------------------------------------------------
// What `socket.write()` ends in (net's writeGeneric / writevGeneric), without the Writable, net and
// stream_base JS in front of it: a WriteWrap request from the `stream_wrap` binding, `handle.writeBuffer()` or
// `handle.writev()`, and `streamBaseState[kLastWriteWasAsync]` to learn whether the request finishes later.
// The binding is reached through `process.binding`, which Node 20 still allows for `stream_wrap` (deprecated as
// DEP0111: it warns only under --pending-deprecation). On the latency path those layers were about 13 µs of
// proxy CPU per request of ~166 (bench/RESULTS.md).

interface WriteRequest {
  handle: unknown;
  oncomplete: (status: number) => void;
  async: boolean;
  bytes: number;
  /** Keeps the written buffers alive until the handle is done with them. */
  buffer: unknown;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteRequest;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

interface WritableHandle {
  writeBuffer(req: WriteRequest, buffer: Buffer): number;
  writev(req: WriteRequest, chunks: Buffer[], allBuffers: boolean): number;
}

type HandleInternals = Duplex & { _handle?: Partial<WritableHandle> | null; connecting?: boolean };

function loadStreamWrap(): StreamWrapBinding | string {
  try {
    const binding = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    if (typeof binding.WriteWrap !== 'function') return `Node ${process.version} has no stream_wrap.WriteWrap`;
    if (!(binding.streamBaseState instanceof Int32Array) || typeof binding.kLastWriteWasAsync !== 'number') {
      return `Node ${process.version} has no stream_wrap.streamBaseState / kLastWriteWasAsync`;
    }
    return binding as StreamWrapBinding;
  } catch (err) {
    return `Node ${process.version} refuses process.binding('stream_wrap'): ${(err as Error).message}`;
  }
}

let streamWrap: StreamWrapBinding | string = loadStreamWrap();

/** Why sockets are written through their Writable on this Node (or in this process); undefined when they need not be. */
export function handleWritesProblem(): string | undefined {
  return typeof streamWrap === 'string' ? streamWrap : undefined;
}

/** Turns handle writes off for the rest of the process (tests use it to prove the fallback). */
export function disableHandleWrites(reason: string): void {
  streamWrap = reason;
}

function writeError(status: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(status);
  const err = new Error(`write ${code}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = status;
  err.syscall = 'write';
  return err;
}

/**
 * Writes `buffers` to the socket's native handle in one call, in order after everything the socket wrote
 * before. Returns undefined and does nothing when that cannot be done now: no native handle (an in-process
 * duplex), a socket that is connecting, ended or destroyed, or whose Writable holds or is writing something
 * (then `socket.write()` keeps the order). Otherwise `done` runs once the handle is done with the buffers
 * (they must stay unchanged until then), and the result says when: 'sent' — before this returned (the kernel
 * took them) — or 'pending' — later, from the event loop. A TLS socket's handle takes one write at a time:
 * nothing may be written to it, this way or through its Writable, while a write is pending. A failed write
 * destroys the socket with the error, as `socket.write()` would, and `done` gets it.
 */
export function writeToHandle(socket: Duplex, buffers: readonly Buffer[], done: (err: Error | null) => void): 'sent' | 'pending' | undefined {
  const binding = streamWrap;
  if (typeof binding === 'string') return undefined;
  const s = socket as HandleInternals;
  const handle = s._handle;
  if (!handle || typeof handle.writeBuffer !== 'function' || s.connecting || s.destroyed || !s.writable || s.writableLength !== 0 || s.writableCorked !== 0) {
    return undefined;
  }
  const req = new binding.WriteWrap();
  req.handle = handle;
  req.async = false;
  req.bytes = 0;
  req.buffer = null;
  req.oncomplete = (status: number) => {
    if (status < 0) {
      const err = writeError(status);
      socket.destroy(err);
      return done(err);
    }
    done(null);
  };
  const status = buffers.length === 1 ? handle.writeBuffer(req, buffers[0]!) : handle.writev!(req, buffers as Buffer[], true);
  if (status !== 0) {
    const err = writeError(status);
    socket.destroy(err);
    done(err);
    return 'sent';
  }
  if (binding.streamBaseState[binding.kLastWriteWasAsync] !== 0) {
    req.buffer = buffers;
    return 'pending';
  }
  done(null);
  return 'sent';
}

// --- HTTP/2 streams -------------------------------------------------------------------------------------

/**
 * Node's http2 maps only its own AbortError class to RST_STREAM(CANCEL) when a stream is destroyed
 * (any other error becomes INTERNAL_ERROR). The class is not exported, so one instance is captured
 * from an aborted timer at load.
 */
export const STREAM_CANCEL: Error = await sleep(0, undefined, { signal: AbortSignal.abort() }).then(
  () => new Error('stream cancelled'),
  (err: Error) => err,
);

/** node:http2 does not export its stream class, so HTTP/2 streams are recognised by shape. */
export function isHttp2Stream(side: Duplex): side is Duplex & Http2Stream {
  return 'rstCode' in side && 'session' in side && typeof (side as Partial<Http2Stream>).close === 'function';
}

/**
 * Makes `stream` turn string writes into Buffers before queueing them. node:http writes a request's head
 * as a latin1 string, corked with the body; Node 20's HTTP/2 stream (created with decodeStrings: false)
 * then writes that string through writev, whose copy of it is freed before the DATA frame is sent: under
 * load the backend received the first 16 bytes of the request line as freed-heap garbage. Buffers written
 * by the caller are kept by the stream until their write completes, so they are safe. Sets the stream's
 * `_writableState.decodeStrings`, which no public API changes after construction.
 */
export function decodeStringWrites(stream: Duplex): Duplex {
  const state = (stream as Duplex & { _writableState?: { decodeStrings?: boolean } })._writableState;
  if (state) state.decodeStrings = true;
  return stream;
}
