// Opens one mutual-TLS HTTP/2 connection to a node proxy's HBONE port, with errors that say what failed.
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { connect as tlsConnect, type SecureContext, type TLSSocket } from 'node:tls';
import { L4meshError } from '../../errors/index.js';
import { HBONE_ALPN, hboneClientTlsOptions } from '../tls/secure-context.js';
import { hboneServerName } from '../tls/server-name.js';
import { HBONE_HTTP2_SETTINGS, HBONE_MAX_SESSION_MEMORY_MB, HBONE_SESSION_WINDOW_BYTES } from './settings.js';

export interface DialTarget {
  host: string;
  port: number;
  /** SPIFFE id the server must prove; also selects its certificate through SNI. */
  dstIdentity: string;
  /** Makes the TCP connection (netns mode: from inside the source pod's namespace); default: from here. */
  connect?(host: string, port: number): Promise<Socket>;
}

export function describeTarget(target: { host: string; port: number }): string {
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

export function connectTimeoutError(where: string, timeoutMs: number): L4meshError {
  return new L4meshError(
    'L4MESH_ERR_CONNECT_TIMEOUT',
    `connection to ${where} timed out after ${timeoutMs} ms — is the destination node proxy running?`,
  );
}

/** TLS verification failures as OpenSSL names them (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `ERR_SSL_…`). */
function isCertificateProblem(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return code.startsWith('ERR_SSL') || /CERT|SIGNATURE|ISSUER|SELF_SIGNED|UNABLE_TO/.test(code);
}

function classify(err: Error, where: string, tcpConnected: boolean): L4meshError {
  if (err instanceof L4meshError) return err;
  const e = err as NodeJS.ErrnoException;
  if (!tcpConnected) {
    return new L4meshError(
      'L4MESH_ERR_PROTOCOL',
      `cannot connect to ${where}: ${e.code ?? e.message} — is the destination node proxy listening on its HBONE port?`,
      { cause: err },
    );
  }
  if (isCertificateProblem(e)) {
    return new L4meshError(
      'L4MESH_ERR_CERTIFICATE',
      `TLS handshake with ${where} failed: ${e.message} — check that both proxies hold certificates from the same mesh root`,
      { cause: err },
    );
  }
  return new L4meshError(
    'L4MESH_ERR_PROTOCOL',
    `TLS handshake with ${where} failed: ${e.message} — the destination proxy refused our certificate or does not serve that identity`,
    { cause: err },
  );
}

/** What a transport does once the TLS half of a dial succeeded: start HTTP/2, then `done` or `fail`. */
export type StartHttp2<T> = (socket: TLSSocket, where: string, done: (session: T) => void, fail: (err: Error) => void) => void;

/**
 * The TLS half of a dial, shared by both HBONE transports (node:http2 here, our framing in h2/dial.ts):
 * connects with the mesh's client options, reports every failure once, classified, within `timeoutMs`,
 * checks ALPN, then hands the socket to `start`. The timeout covers the whole dial, HTTP/2 included.
 */
export function dialHboneTls<T>(context: SecureContext, target: DialTarget, timeoutMs: number, start: StartHttp2<T>): Promise<T> {
  const where = describeTarget(target);
  if (target.connect) {
    // The TCP half first, so that its failure is reported as one (refused, unreachable), then TLS over it.
    return target.connect(target.host, target.port).then(
      (tcp) => dialTlsOver(context, target, where, timeoutMs, start, tcp),
      (err: Error) => Promise.reject(classify(err, where, false)),
    );
  }
  return dialTlsOver(context, target, where, timeoutMs, start);
}

function dialTlsOver<T>(context: SecureContext, target: DialTarget, where: string, timeoutMs: number, start: StartHttp2<T>, tcp?: Socket): Promise<T> {
  return new Promise((resolve, reject) => {
    let tcpConnected = tcp !== undefined;
    const tlsOptions = hboneClientTlsOptions(context, hboneServerName(target.dstIdentity), target.dstIdentity, where);
    const socket: TLSSocket = tcp ? tlsConnect({ ...tlsOptions, socket: tcp }) : tlsConnect({ host: target.host, port: target.port, ...tlsOptions });
    if (tcp) tcp.setNoDelay(true);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const done = (session: T): void => {
      clearTimeout(timer);
      resolve(session);
    };
    const timer = setTimeout(() => fail(connectTimeoutError(where, timeoutMs)), timeoutMs);
    timer.unref();
    socket.once('connect', () => {
      tcpConnected = true;
      // Tunnelled applications do their own batching; Nagle here would only add latency per frame.
      socket.setNoDelay(true);
    });
    socket.on('error', (err) => fail(classify(err, where, tcpConnected)));
    socket.once('close', () => fail(classify(new Error('connection closed during the TLS handshake'), where, tcpConnected)));
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== HBONE_ALPN) {
        fail(new L4meshError('L4MESH_ERR_PROTOCOL', `${where} did not negotiate ALPN "${HBONE_ALPN}" — it is not an HBONE port`));
        return;
      }
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      start(socket, where, done, fail);
    });
  });
}

/**
 * Resolves with an HTTP/2 session whose peer proved `target.dstIdentity`. The TLS handshake is done
 * before HTTP/2 starts so that every failure is reported once, with its cause, and within the timeout.
 */
export function dialHbone(context: SecureContext, target: DialTarget, timeoutMs: number): Promise<ClientHttp2Session> {
  return dialHboneTls<ClientHttp2Session>(context, target, timeoutMs, (socket, where, done, fail) => {
    const session = h2connect(`https://${where}`, {
      createConnection: () => socket,
      settings: HBONE_HTTP2_SETTINGS,
      maxSessionMemory: HBONE_MAX_SESSION_MEMORY_MB,
    });
    // With TLS 1.3 the server checks our certificate after our side considers the handshake done;
    // its first SETTINGS frame is the proof it accepted us. Waiting for it keeps refused connections
    // out of the pool and reports the refusal as a certificate problem instead of a broken stream.
    let settingsSeen = false;
    session.on('error', (err: NodeJS.ErrnoException) => {
      if (settingsSeen) return; // later failures surface through the streams and the pool's 'close'
      // A reset can overtake the server's TLS alert (3 of 30 refused dials measured): before its SETTINGS
      // both mean the server dropped us right after our certificate reached it.
      fail(
        /ALERT|CERT|ECONNRESET|EPIPE/.test(err.code ?? '')
          ? new L4meshError(
              'L4MESH_ERR_CERTIFICATE',
              `${where} refused our certificate (${err.code}) — check that both proxies hold certificates from the same mesh root`,
              { cause: err },
            )
          : classify(err, where, true),
      );
    });
    session.once('close', () => {
      if (!settingsSeen) {
        fail(new L4meshError('L4MESH_ERR_CERTIFICATE', `${where} closed the connection right after the TLS handshake — it may have refused our certificate`));
      }
    });
    session.once('remoteSettings', () => {
      settingsSeen = true;
      session.setLocalWindowSize(HBONE_SESSION_WINDOW_BYTES);
      done(session);
    });
  });
}
