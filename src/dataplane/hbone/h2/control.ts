// Receipt of every HTTP/2 frame but DATA: validation per RFC 9113 §6 and the session's reaction to it.
import { ErrorCode, Flag, FrameType, H2ProtocolError, MAX_WINDOW, SettingId, pingFrame, type Frame } from './frames.js';
import type { H2Session } from './session.js';

/** Compressed header block cap across HEADERS + CONTINUATION: beyond it the peer is attacking. */
export const MAX_HEADER_BLOCK_BYTES = 64 * 1024;

function connError(code: number, message: string): H2ProtocolError {
  return new H2ProtocolError(code, 0, message);
}

function expectLength(frame: Frame, length: number, name: string, streamError = false): void {
  if (frame.payload.length !== length) {
    throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, streamError ? frame.stream : 0, `${name} frame of ${frame.payload.length} bytes (must be ${length})`);
  }
}

export function onControlFrame(session: H2Session, frame: Frame): void {
  switch (frame.type) {
    case FrameType.HEADERS:
      return onHeaders(session, frame);
    case FrameType.CONTINUATION:
      return onContinuation(session, frame);
    case FrameType.SETTINGS:
      return onSettings(session, frame);
    case FrameType.WINDOW_UPDATE:
      return onWindowUpdate(session, frame);
    case FrameType.PING:
      if (frame.stream !== 0) throw connError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
      expectLength(frame, 8, 'PING');
      if (frame.flags & Flag.ACK) session.onPingAck(frame.payload);
      else session.write(pingFrame(frame.payload, true));
      return;
    case FrameType.RST_STREAM: {
      if (frame.stream === 0) throw connError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
      expectLength(frame, 4, 'RST_STREAM');
      if (!session.isKnownStreamId(frame.stream)) throw connError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${frame.stream}`);
      session.stream(frame.stream)?.onReset(frame.payload.readUInt32BE(0));
      return;
    }
    case FrameType.GOAWAY:
      if (frame.stream !== 0) throw connError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
      if (frame.payload.length < 8) throw connError(ErrorCode.FRAME_SIZE_ERROR, `GOAWAY frame of ${frame.payload.length} bytes`);
      session.onGoaway(frame.payload.readUInt32BE(0) & 0x7fffffff, frame.payload.readUInt32BE(4));
      return;
    case FrameType.PRIORITY:
      if (frame.stream === 0) throw connError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
      expectLength(frame, 5, 'PRIORITY', true);
      return; // priorities do not apply to tunnels
    case FrameType.PUSH_PROMISE:
      throw connError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE although we disabled push');
    default:
      return; // RFC 9113 §4.1: unknown frame types are ignored
  }
}

function onSettings(session: H2Session, frame: Frame): void {
  if (frame.stream !== 0) throw connError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
  if (frame.flags & Flag.ACK) {
    if (frame.payload.length !== 0) throw connError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
    session.emit('localSettings');
    return;
  }
  if (frame.payload.length % 6 !== 0) throw connError(ErrorCode.FRAME_SIZE_ERROR, `SETTINGS of ${frame.payload.length} bytes is not a multiple of 6`);
  const remote = session.remoteSettings;
  for (let at = 0; at < frame.payload.length; at += 6) {
    const id = frame.payload.readUInt16BE(at);
    const value = frame.payload.readUInt32BE(at + 2);
    if (id === SettingId.ENABLE_PUSH && value > 1) throw connError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${value}`);
    if (id === SettingId.MAX_CONCURRENT_STREAMS) remote.maxConcurrentStreams = value;
    if (id === SettingId.MAX_FRAME_SIZE) {
      session.checkFrameSizeSetting(value);
      remote.maxFrameSize = value;
    }
    if (id === SettingId.INITIAL_WINDOW_SIZE) {
      if (value > MAX_WINDOW) throw connError(ErrorCode.FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
      const delta = value - remote.initialWindowSize;
      remote.initialWindowSize = value;
      for (const stream of session.allStreams()) {
        stream.sendWindow += delta;
        if (stream.sendWindow > MAX_WINDOW) throw connError(ErrorCode.FLOW_CONTROL_ERROR, `stream ${stream.id} window overflows`);
      }
    }
  }
  session.ackSettings();
  const first = !session.settingsSeenOnce();
  if (first) session.emit('remoteSettings', remote);
  session.flushBlocked();
}

function onWindowUpdate(session: H2Session, frame: Frame): void {
  expectLength(frame, 4, 'WINDOW_UPDATE');
  const increment = frame.payload.readUInt32BE(0) & 0x7fffffff;
  if (frame.stream === 0) {
    if (increment === 0) throw connError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0 on the connection');
    session.connSendWindow += increment;
    if (session.connSendWindow > MAX_WINDOW) throw connError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
    session.flushBlocked();
    return;
  }
  if (increment === 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, frame.stream, `WINDOW_UPDATE of 0 on stream ${frame.stream}`);
  const stream = session.stream(frame.stream);
  if (!stream) {
    if (!session.isKnownStreamId(frame.stream)) throw connError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${frame.stream}`);
    return; // a closed stream: the update crossed our RST_STREAM or END_STREAM
  }
  stream.sendWindow += increment;
  if (stream.sendWindow > MAX_WINDOW) throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, frame.stream, `stream ${frame.stream} window above 2^31-1`);
  session.flushStream(stream);
}

function onHeaders(session: H2Session, frame: Frame): void {
  if (frame.stream === 0) throw connError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
  let block = frame.payload;
  let pad = 0;
  if (frame.flags & Flag.PADDED) {
    if (block.length < 1) throw connError(ErrorCode.FRAME_SIZE_ERROR, 'padded HEADERS without a pad length');
    pad = block[0];
    block = block.subarray(1);
  }
  if (frame.flags & Flag.PRIORITY) {
    if (block.length < 5) throw connError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS too short for its priority fields');
    block = block.subarray(5);
  }
  if (pad > block.length) throw connError(ErrorCode.PROTOCOL_ERROR, `HEADERS padding ${pad} longer than the frame`);
  block = block.subarray(0, block.length - pad);
  const complete = (frame.flags & Flag.END_HEADERS) !== 0;
  // A block continued in later frames outlives this read, whose memory may be reused: keep a copy.
  const part = complete ? block : Buffer.from(block);
  session.headerBlock = { stream: frame.stream, parts: [part], bytes: block.length, endStream: (frame.flags & Flag.END_STREAM) !== 0 };
  checkBlockSize(session);
  if (complete) completeBlock(session);
}

function onContinuation(session: H2Session, frame: Frame): void {
  const pending = session.headerBlock;
  if (!pending) throw connError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without HEADERS');
  pending.parts.push(Buffer.from(frame.payload));
  pending.bytes += frame.payload.length;
  checkBlockSize(session);
  if (frame.flags & Flag.END_HEADERS) completeBlock(session);
}

function checkBlockSize(session: H2Session): void {
  const bytes = session.headerBlock!.bytes;
  if (bytes > MAX_HEADER_BLOCK_BYTES) {
    throw connError(ErrorCode.ENHANCE_YOUR_CALM, `header block of more than ${MAX_HEADER_BLOCK_BYTES} bytes`);
  }
}

function completeBlock(session: H2Session): void {
  const { stream, parts, endStream } = session.headerBlock!;
  session.headerBlock = undefined;
  const fields = session.decodeHeaders(parts.length === 1 ? parts[0] : Buffer.concat(parts));
  session.onHeaderBlock(stream, fields, endStream);
}
