// Plain TCP dials from the proxy to a workload, with the connect timeout every hop uses.
import { connect, type Socket } from 'node:net';
import { L4meshError } from '../errors/index.js';

/** Istio's default connect timeout for an upstream: long enough for a loaded host, short enough to fail fast. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export function dialTcp(host: string, port: number, timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new L4meshError('L4MESH_ERR_CONNECT_TIMEOUT', `connection to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new L4meshError(
          'L4MESH_ERR_NO_HEALTHY_UPSTREAM',
          `cannot connect to ${host}:${port}: ${err.code ?? err.message} — is the workload listening on that port?`,
          { cause: err },
        ),
      );
    });
  });
}
