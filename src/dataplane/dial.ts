// Plain TCP dials from the proxy to a workload, with the connect timeout every hop uses.
import { connect, type Socket } from 'node:net';
import { L4meshError } from '../errors/index.js';
import { connectPooled } from './pooled-reads.js';
import { fdPressure } from './admin/fd-pressure.js';

/** Istio's default connect timeout for an upstream: long enough for a loaded host, short enough to fail fast. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface DialOptions {
  timeoutMs?: number;
  /**
   * Read through the shared buffer (dataplane/pooled-reads.ts): for sockets handed straight to splice(),
   * which starts reading them. Others (an HTTP client parsing a response) keep Node's 'data' events.
   */
  pooledReads?: boolean;
}

export function dialTcp(host: string, port: number, options: DialOptions = {}): Promise<Socket> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const connectOptions = { host, port, noDelay: true, allowHalfOpen: true };
    const socket = options.pooledReads ? connectPooled(connectOptions) : connect(connectOptions);
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
      fdPressure.dialFailed(err.code);
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
