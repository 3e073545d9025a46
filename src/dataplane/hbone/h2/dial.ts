// Opens one mutual-TLS HBONE connection to a node proxy on our HTTP/2 layer, and the transport flag
// (`node` | `l4mesh`) that a pool or listener will use to choose between node:http2 and this layer.
import type { SecureContext } from 'node:tls';
import { L4meshError } from '../../../errors/index.js';
import { dialHboneTls, type DialTarget } from '../dial.js';
import { H2ClientSession } from './client.js';
import type { H2SessionOptions } from './session.js';

export type HboneTransport = 'node' | 'l4mesh';
/**
 * Our layer: it passes every HBONE test node:http2 passes (test/support/transports.ts runs them on both)
 * and keeps reading while it writes, which node:http2 does not (DESIGN §5). `node` stays as the fallback.
 */
export const DEFAULT_HBONE_TRANSPORT: HboneTransport = 'l4mesh';

export function parseHboneTransport(value: string | undefined, source: string): HboneTransport {
  if (value === undefined || value === '') return DEFAULT_HBONE_TRANSPORT;
  if (value === 'node' || value === 'l4mesh') return value;
  throw new L4meshError('L4MESH_ERR_CONFIG', `${source} must be "node" or "l4mesh", got "${value}"`);
}

/** Resolves once the peer proved `target.dstIdentity` and its SETTINGS arrived (the TLS half is shared). */
export function dialHboneL4mesh(context: SecureContext, target: DialTarget, timeoutMs: number, options: H2SessionOptions = {}): Promise<H2ClientSession> {
  return dialHboneTls<H2ClientSession>(context, target, timeoutMs, (socket, where, done, fail) => {
    const session = new H2ClientSession(socket, options);
    // As with node:http2: the server's first SETTINGS is the proof it accepted our certificate.
    const onClose = (): void => fail(new L4meshError('L4MESH_ERR_CERTIFICATE', `${where} closed the connection right after the TLS handshake — it may have refused our certificate`));
    session.once('close', onClose);
    session.once('remoteSettings', () => {
      session.off('close', onClose);
      done(session);
    });
  });
}
