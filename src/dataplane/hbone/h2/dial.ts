// Opens one mutual-TLS HBONE connection to a node proxy on our HTTP/2 layer, and the transport flag
// (`node` | `l4mesh`) that a pool or listener will use to choose between node:http2 and this layer.
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import { L4meshError } from '../../../errors/index.js';
import { hboneClientTlsOptions } from '../../tls/secure-context.js';
import { hboneServerName } from '../../tls/server-name.js';
import { connectTimeoutError, describeTarget, type DialTarget } from '../dial.js';
import { H2ClientSession } from './client.js';
import type { H2SessionOptions } from './session.js';

export type HboneTransport = 'node' | 'l4mesh';
/** node:http2 stays the default until the bench shows this layer at least as good (issue 17). */
export const DEFAULT_HBONE_TRANSPORT: HboneTransport = 'node';

export function parseHboneTransport(value: string | undefined, source: string): HboneTransport {
  if (value === undefined || value === '') return DEFAULT_HBONE_TRANSPORT;
  if (value === 'node' || value === 'l4mesh') return value;
  throw new L4meshError('L4MESH_ERR_CONFIG', `${source} must be "node" or "l4mesh", got "${value}"`);
}

/** Resolves once the peer proved `target.dstIdentity` and its SETTINGS arrived. */
export function dialHboneL4mesh(context: SecureContext, target: DialTarget, timeoutMs: number, options: H2SessionOptions = {}): Promise<H2ClientSession> {
  const where = describeTarget(target);
  return new Promise((resolve, reject) => {
    let tcpConnected = false;
    const socket = tlsConnect({
      host: target.host,
      port: target.port,
      ...hboneClientTlsOptions(context, hboneServerName(target.dstIdentity), target.dstIdentity, where),
    });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(connectTimeoutError(where, timeoutMs)), timeoutMs);
    timer.unref();
    socket.once('connect', () => {
      tcpConnected = true;
      socket.setNoDelay(true);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof L4meshError) return fail(err);
      fail(new L4meshError(
        tcpConnected ? 'L4MESH_ERR_CERTIFICATE' : 'L4MESH_ERR_PROTOCOL',
        tcpConnected
          ? `TLS handshake with ${where} failed: ${err.message} — check that both proxies hold certificates from the same mesh root`
          : `cannot connect to ${where}: ${err.code ?? err.message} — is the destination node proxy listening on its HBONE port?`,
        { cause: err },
      ));
    });
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') return fail(new L4meshError('L4MESH_ERR_PROTOCOL', `${where} did not negotiate ALPN h2`));
      const session = new H2ClientSession(socket, options);
      const onClose = (): void => fail(new L4meshError('L4MESH_ERR_CERTIFICATE', `${where} closed the connection right after the TLS handshake — it may have refused our certificate`));
      session.once('close', onClose);
      session.once('remoteSettings', () => {
        clearTimeout(timer);
        session.off('close', onClose);
        resolve(session);
      });
    });
  });
}
