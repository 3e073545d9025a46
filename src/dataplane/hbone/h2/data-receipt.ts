// Receipt of DATA (whole frames or the pieces of one that spanned TLS chunks): connection and stream
// flow control, padding, stream state; the payload goes to its stream as the view it arrived as.
import { ErrorCode, Flag, H2ProtocolError, windowUpdateFrame, type Frame } from './frames.js';
import type { H2Session } from './session.js';

export function onDataFrame(session: H2Session, frame: Frame): void {
  if (frame.stream === 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 0, 'DATA on stream 0');
  const length = frame.payload.length;
  // A frame that arrives in pieces is checked against the windows as a whole, with its first piece: a
  // window we grant while the rest is on its way does not make a frame sent beyond it acceptable.
  const declared = frame.declaredLength ?? length;
  if (declared > session.connRecvWindow) {
    throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, 0, `peer sent ${declared - session.connRecvWindow} bytes beyond the connection window`);
  }
  session.connRecvWindow -= length;
  // Stream windows bound what is buffered (the connection window is at least their sum), so the
  // connection window is handed back on receipt rather than on consumption.
  session.connConsumed += length;
  if (session.connConsumed >= session.connWindow / 2) {
    session.write(windowUpdateFrame(0, session.connConsumed));
    session.connRecvWindow += session.connConsumed;
    session.connConsumed = 0;
  }
  let data = frame.payload;
  if (frame.flags & Flag.PADDED) {
    const pad = length > 0 ? data[0] : 0;
    if (length === 0 || pad >= length) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 0, `DATA padding ${pad} does not fit a ${length}-byte frame`);
    data = data.subarray(1, length - pad);
  }
  const stream = session.stream(frame.stream);
  if (!stream) {
    if (!session.isKnownStreamId(frame.stream)) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 0, `DATA on idle stream ${frame.stream}`);
    // RFC 9113 §5.1: frames still in flight on a stream we closed or reset are ignored.
    return;
  }
  if (stream.remoteEnded || !stream.headersReceived) {
    const code = stream.remoteEnded ? ErrorCode.STREAM_CLOSED : ErrorCode.PROTOCOL_ERROR;
    throw new H2ProtocolError(code, frame.stream, `DATA on stream ${frame.stream} ${stream.remoteEnded ? 'after END_STREAM' : 'before its HEADERS'}`);
  }
  if (declared > stream.recvWindow) {
    throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, frame.stream, `peer sent ${declared} bytes on stream ${frame.stream} with a window of ${stream.recvWindow}`);
  }
  stream.onData(data, length, (frame.flags & Flag.END_STREAM) !== 0, data.length > 0 ? session.holdReceived() : undefined);
}
