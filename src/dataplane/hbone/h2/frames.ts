// HTTP/2 frame codec (RFC 9113 §4, §6): frame headers, the control frames we send, and a parser that
// cuts frames out of a socket's chunks without copying their payloads.
import { L4meshError } from '../../../errors/index.js';

export const FRAME_HEADER_BYTES = 9;
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Every peer must accept frames of this size; larger ones only after it advertised them. */
export const DEFAULT_MAX_FRAME_BYTES = 16_384;
export const MAX_ALLOWED_FRAME_BYTES = 16_777_215;
export const MAX_WINDOW = 2 ** 31 - 1;
export const DEFAULT_WINDOW = 65_535;

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

const ERROR_NAMES = new Map(Object.entries(ErrorCode).map(([name, code]) => [code as number, name]));

export function errorCodeName(code: number): string {
  return ERROR_NAMES.get(code) ?? `0x${code.toString(16)}`;
}

/**
 * A protocol violation. `stream` 0 means the whole connection is at fault (answered with GOAWAY),
 * otherwise only that stream (answered with RST_STREAM).
 */
export class H2ProtocolError extends L4meshError {
  readonly h2Code: number;
  readonly stream: number;
  constructor(h2Code: number, stream: number, message: string) {
    super('L4MESH_ERR_HTTP2_CONNECTION', `HTTP/2 ${errorCodeName(h2Code)}: ${message}`);
    this.h2Code = h2Code;
    this.stream = stream;
  }
}

export function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeFrameHeader(header, 0, length, type, flags, stream);
  return header;
}

export function writeFrameHeader(target: Buffer, at: number, length: number, type: number, flags: number, stream: number): void {
  target[at] = (length >>> 16) & 0xff;
  target[at + 1] = (length >>> 8) & 0xff;
  target[at + 2] = length & 0xff;
  target[at + 3] = type;
  target[at + 4] = flags;
  target.writeUInt32BE(stream & 0x7fffffff, at + 5);
}

export function settingsFrame(settings: ReadonlyArray<readonly [number, number]>): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + settings.length * 6);
  writeFrameHeader(frame, 0, settings.length * 6, FrameType.SETTINGS, 0, 0);
  settings.forEach(([id, value], i) => {
    frame.writeUInt16BE(id, FRAME_HEADER_BYTES + i * 6);
    frame.writeUInt32BE(value, FRAME_HEADER_BYTES + i * 6 + 2);
  });
  return frame;
}

export function settingsAckFrame(): Buffer {
  return frameHeader(0, FrameType.SETTINGS, Flag.ACK, 0);
}

export function windowUpdateFrame(stream: number, increment: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(frame, 0, 4, FrameType.WINDOW_UPDATE, 0, stream);
  frame.writeUInt32BE(increment & 0x7fffffff, FRAME_HEADER_BYTES);
  return frame;
}

export function pingFrame(opaque: Buffer, ack: boolean): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8);
  writeFrameHeader(frame, 0, 8, FrameType.PING, ack ? Flag.ACK : 0, 0);
  opaque.copy(frame, FRAME_HEADER_BYTES, 0, 8);
  return frame;
}

export function goawayFrame(lastStream: number, code: number, debug = ''): Buffer {
  const text = Buffer.from(debug, 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8 + text.length);
  writeFrameHeader(frame, 0, 8 + text.length, FrameType.GOAWAY, 0, 0);
  frame.writeUInt32BE(lastStream & 0x7fffffff, FRAME_HEADER_BYTES);
  frame.writeUInt32BE(code, FRAME_HEADER_BYTES + 4);
  text.copy(frame, FRAME_HEADER_BYTES + 8);
  return frame;
}

export function rstStreamFrame(stream: number, code: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(frame, 0, 4, FrameType.RST_STREAM, 0, stream);
  frame.writeUInt32BE(code, FRAME_HEADER_BYTES);
  return frame;
}

/** HEADERS then CONTINUATION frames carrying one header block, each at most `maxFrame` bytes. */
export function headerBlockFrames(stream: number, block: Buffer, endStream: boolean, maxFrame: number): Buffer[] {
  const frames: Buffer[] = [];
  let offset = 0;
  do {
    const part = block.subarray(offset, offset + maxFrame);
    offset += part.length;
    const last = offset >= block.length;
    const type = frames.length === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    let flags = last ? Flag.END_HEADERS : 0;
    if (type === FrameType.HEADERS && endStream) flags |= Flag.END_STREAM;
    frames.push(frameHeader(part.length, type, flags, stream), part);
  } while (offset < block.length);
  return frames;
}

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  /**
   * A view into the received chunk or a carry-over buffer of its own. A received chunk's memory may be
   * reused once the frame was handled: what is kept longer is copied or held (H2Session.holdReceived).
   */
  payload: Buffer;
  /**
   * On the first piece of a DATA frame passed through in pieces: the frame's length as its header declares
   * it, which flow control checks at once. Absent on whole frames and on the pieces after the first.
   */
  declaredLength?: number;
}

/**
 * Cuts frames out of received chunks. A frame wholly inside one chunk is handed over as a subarray of
 * it. An unpadded DATA frame that spans chunks (the usual case: TLS hands over at most 16 KiB at a time)
 * is handed over piece by piece, each a subarray of its chunk and END_STREAM only on the last piece, so
 * DATA is never copied. Only other frames spanning chunks are assembled in a carry-over buffer.
 */
export class FrameParser {
  maxFrameBytes: number;
  private carry: Buffer | undefined;
  private carried = 0;
  /** The DATA frame being passed through in pieces: bytes still to come, its stream and flags. */
  private dataRemaining = 0;
  private dataStream = 0;
  private dataFlags = 0;
  /** The length of the DATA frame being passed through, until its first piece went out. */
  private dataDeclared: number | undefined;
  private readonly onFrame: (frame: Frame) => void;

  constructor(maxFrameBytes: number, onFrame: (frame: Frame) => void) {
    this.maxFrameBytes = maxFrameBytes;
    this.onFrame = onFrame;
  }

  /** Throws H2ProtocolError (FRAME_SIZE_ERROR) for a frame longer than we allow. */
  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.dataRemaining > 0) {
        const take = Math.min(this.dataRemaining, chunk.length - offset);
        this.dataRemaining -= take;
        const last = this.dataRemaining === 0;
        const declaredLength = this.dataDeclared;
        this.dataDeclared = undefined;
        this.onFrame({
          type: FrameType.DATA,
          flags: last ? this.dataFlags : this.dataFlags & ~Flag.END_STREAM,
          stream: this.dataStream,
          payload: chunk.subarray(offset, offset + take),
          declaredLength,
        });
        offset += take;
        continue;
      }
      if (this.carry) {
        offset += this.fillCarry(chunk.subarray(offset));
        continue;
      }
      if (chunk.length - offset < FRAME_HEADER_BYTES) {
        this.startCarry(chunk.subarray(offset));
        return;
      }
      const length = (chunk[offset] << 16) | (chunk[offset + 1] << 8) | chunk[offset + 2];
      this.checkLength(length);
      const type = chunk[offset + 3];
      const flags = chunk[offset + 4];
      const stream = chunk.readUInt32BE(offset + 5) & 0x7fffffff;
      const end = offset + FRAME_HEADER_BYTES + length;
      if (end <= chunk.length) {
        this.onFrame({ type, flags, stream, payload: chunk.subarray(offset + FRAME_HEADER_BYTES, end) });
        offset = end;
      } else if (type === FrameType.DATA && (flags & Flag.PADDED) === 0) {
        this.startData(length, flags, stream);
        offset += FRAME_HEADER_BYTES;
      } else {
        this.startCarry(chunk.subarray(offset));
        return;
      }
    }
  }

  private checkLength(length: number): void {
    if (length > this.maxFrameBytes) {
      throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 0, `frame of ${length} bytes exceeds our SETTINGS_MAX_FRAME_SIZE ${this.maxFrameBytes}`);
    }
  }

  private startData(length: number, flags: number, stream: number): void {
    this.dataRemaining = length;
    this.dataDeclared = length;
    this.dataFlags = flags;
    this.dataStream = stream;
  }

  private startCarry(rest: Buffer): void {
    if (rest.length < FRAME_HEADER_BYTES) {
      this.carry = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    } else {
      const length = (rest[0] << 16) | (rest[1] << 8) | rest[2];
      this.carry = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
    }
    rest.copy(this.carry);
    this.carried = rest.length;
  }

  /** Continues the carried frame from `chunk`; returns how much of the chunk it used. */
  private fillCarry(chunk: Buffer): number {
    let used = 0;
    let carry = this.carry!;
    if (carry.length === FRAME_HEADER_BYTES && this.carried < FRAME_HEADER_BYTES) {
      used = Math.min(FRAME_HEADER_BYTES - this.carried, chunk.length);
      chunk.copy(carry, this.carried, 0, used);
      this.carried += used;
      if (this.carried < FRAME_HEADER_BYTES) return used;
      const length = (carry[0] << 16) | (carry[1] << 8) | carry[2];
      this.checkLength(length);
      if (length > 0 && carry[3] === FrameType.DATA && (carry[4] & Flag.PADDED) === 0) {
        this.carry = undefined;
        this.carried = 0;
        this.startData(length, carry[4], carry.readUInt32BE(5) & 0x7fffffff);
        return used;
      }
      if (length > 0) {
        const grown = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
        carry.copy(grown);
        this.carry = carry = grown;
      }
    }
    const take = Math.min(carry.length - this.carried, chunk.length - used);
    chunk.copy(carry, this.carried, used, used + take);
    this.carried += take;
    used += take;
    if (this.carried < carry.length) return used;
    this.carry = undefined;
    this.carried = 0;
    this.onFrame({
      type: carry[3],
      flags: carry[4],
      stream: carry.readUInt32BE(5) & 0x7fffffff,
      payload: carry.subarray(FRAME_HEADER_BYTES),
    });
    return used;
  }
}
