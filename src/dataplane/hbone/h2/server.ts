// The server side of our HTTP/2 layer: accepts streams on TLS sockets and hands each over with its
// request headers ('stream' → respond(status) → duplex), refusing those beyond MAX_CONCURRENT_STREAMS.
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import { CLIENT_PREFACE, ErrorCode, H2ProtocolError, rstStreamFrame } from './frames.js';
import { H2Session, type H2SessionOptions } from './session.js';
import { headerObject } from './header-object.js';

export class H2ServerSession extends H2Session {
  /** Bytes of the client preface seen so far; undefined once it was complete. */
  private preface: Buffer | undefined = Buffer.alloc(0);

  constructor(socket: Duplex, options: H2SessionOptions = {}) {
    super(socket, options, true);
  }

  protected writePreface(): void {
    // The server's preface is its SETTINGS frame, which the base class sends.
  }

  protected onSocketData(chunk: Buffer): void {
    if (this.preface === undefined) return this.feed(chunk);
    const seen = Buffer.concat([this.preface, chunk]);
    const compared = Math.min(seen.length, CLIENT_PREFACE.length);
    if (!seen.subarray(0, compared).equals(CLIENT_PREFACE.subarray(0, compared))) {
      this.fail(new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 0, 'the client did not send the HTTP/2 preface'));
      return;
    }
    if (seen.length < CLIENT_PREFACE.length) {
      this.preface = seen;
      return;
    }
    this.preface = undefined;
    if (seen.length > CLIENT_PREFACE.length) this.feed(seen.subarray(CLIENT_PREFACE.length));
  }

  protected isLocalStream(id: number): boolean {
    return id % 2 === 0;
  }

  onHeaderBlock(id: number, fields: Array<[string, string]>, endStream: boolean): void {
    const existing = this.stream(id);
    if (existing) {
      if (!endStream) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, id, `trailers on stream ${id} without END_STREAM`);
      existing.onRemoteEnd();
      return;
    }
    if (id % 2 === 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 0, `client opened even stream ${id}`);
    if (id <= this.lastPeerStream) throw new H2ProtocolError(ErrorCode.STREAM_CLOSED, 0, `HEADERS on closed stream ${id}`);
    this.lastPeerStream = id;
    if (this.goawaySent || this.closed || this.openStreamCount >= this.maxConcurrent) {
      this.write(rstStreamFrame(id, ErrorCode.REFUSED_STREAM));
      return;
    }
    const stream = this.createStream(id);
    stream.headersReceived = true;
    if (endStream) stream.onRemoteEnd();
    this.emit('stream', stream, headerObject(fields));
  }
}

/**
 * A TLS listener with ALPN h2 whose connections run H2ServerSession. Emits 'session' (session, socket)
 * and 'stream' (stream, headers, session), like node:http2's secure server.
 */
export class H2SecureServer extends EventEmitter {
  readonly tls: TlsServer;
  private readonly sessions = new Set<H2ServerSession>();

  constructor(tlsOptions: TlsOptions, options: H2SessionOptions = {}) {
    super();
    this.tls = createTlsServer({ ...tlsOptions, ALPNProtocols: ['h2'] }, (socket: TLSSocket) => {
      if (socket.alpnProtocol !== 'h2') {
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      const session = new H2ServerSession(socket, options);
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      session.on('stream', (stream, headers) => this.emit('stream', stream, headers, session));
      this.emit('session', session, socket);
    });
    this.tls.on('tlsClientError', (err, socket) => this.emit('tlsClientError', err, socket));
  }

  /** On `port`/`host`, or on an already listening socket `fd` (made inside another network namespace). */
  listen(port: number | { port: number; host: string } | { fd: number }, host?: string): Promise<void> {
    const where = typeof port === 'number' ? { port, host } : port;
    return new Promise((resolve, reject) => {
      this.tls.once('error', reject);
      this.tls.listen(where, () => {
        this.tls.off('error', reject);
        resolve();
      });
    });
  }

  address(): AddressInfo {
    return this.tls.address() as AddressInfo;
  }

  /** GOAWAY to every session, then waits for them (and the listener) to close. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.tls.close(() => resolve()));
    for (const session of this.sessions) session.close();
    return closed;
  }

  destroyAll(): void {
    for (const session of this.sessions) session.destroy();
  }
}
