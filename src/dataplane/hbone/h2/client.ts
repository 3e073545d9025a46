// The client side of our HTTP/2 layer: opens CONNECT streams on a TLS socket, shaped like the parts of
// node:http2's ClientHttp2Session that the HBONE pool uses (request → 'response' → duplex).
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { L4meshError } from '../../../errors/index.js';
import { CLIENT_PREFACE, ErrorCode, H2ProtocolError } from './frames.js';
import { H2Session, type H2SessionOptions } from './session.js';
import type { H2Stream } from './stream.js';
import { headerObject } from './header-object.js';

export class H2ClientSession extends H2Session {
  constructor(socket: Duplex, options: H2SessionOptions = {}) {
    super(socket, options, false);
  }

  /**
   * Opens a stream with `headers` (pseudo-headers such as `:method` and `:authority` included). The
   * stream emits 'response' with the response headers, `:status` as a number.
   */
  request(headers: Record<string, string>, options: { endStream?: boolean } = {}): H2Stream {
    if (this.closed || this.destroyed || this.goawayReceived) {
      throw new L4meshError('L4MESH_ERR_HTTP2_CONNECTION', 'cannot open an HTTP/2 stream: the connection is closing');
    }
    const id = this.lastLocalStream === 0 ? 1 : this.lastLocalStream + 2;
    this.lastLocalStream = id;
    const stream = this.createStream(id);
    // Pseudo-headers must come first (RFC 9113 §8.3). One pass: a tunnel's open is on every connection's path.
    const fields: Array<[string, string]> = [];
    const regular: Array<[string, string]> = [];
    for (const name in headers) {
      if (name.startsWith(':')) fields.push([name, headers[name]!]);
      else regular.push([name.toLowerCase(), headers[name]!]);
    }
    for (const field of regular) fields.push(field);
    this.sendHeaders(stream, fields, options.endStream === true);
    if (options.endStream) {
      stream.localEnded = true;
      stream.end();
    }
    return stream;
  }

  protected writePreface(): void {
    this.write(CLIENT_PREFACE);
  }

  protected onSocketData(chunk: Buffer): void {
    this.feed(chunk);
  }

  protected isLocalStream(id: number): boolean {
    return id % 2 === 1;
  }

  onHeaderBlock(id: number, fields: Array<[string, string]>, endStream: boolean): void {
    const stream = this.stream(id);
    if (!stream) {
      if (!this.isKnownStreamId(id)) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 0, `HEADERS on stream ${id} we never opened`);
      return; // a stream we already reset
    }
    if (!stream.headersReceived) {
      const headers = headerObject(fields);
      const status = Number(headers[':status']);
      if (!Number.isInteger(status)) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, id, `response on stream ${id} without :status`);
      if (status >= 100 && status < 200) return; // informational; the real response follows
      headers[':status'] = status;
      stream.headersReceived = true;
      stream.emit('response', headers);
    } else if (!endStream) {
      throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, id, `trailers on stream ${id} without END_STREAM`);
    }
    if (endStream) stream.onRemoteEnd();
  }
}

/** Connects TLS with ALPN h2 and resolves once the server's SETTINGS arrived. */
export function connectH2(tlsOptions: ConnectionOptions, options: H2SessionOptions = {}): Promise<H2ClientSession> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = tlsConnect({ ...tlsOptions, ALPNProtocols: ['h2'] });
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') {
        socket.destroy();
        reject(new L4meshError('L4MESH_ERR_PROTOCOL', `server did not negotiate ALPN h2 (got ${String(socket.alpnProtocol)})`));
        return;
      }
      socket.setNoDelay(true);
      socket.off('error', reject);
      const session = new H2ClientSession(socket, options);
      const onClose = (): void => reject(new L4meshError('L4MESH_ERR_HTTP2_CONNECTION', 'the server closed the connection before its SETTINGS'));
      session.once('close', onClose);
      session.once('remoteSettings', () => {
        session.off('close', onClose);
        resolve(session);
      });
    });
  });
}
