// PING-based liveness for an HTTP/2 connection: a peer that stops answering (host gone, path
// black-holed, process wedged) is detected and the connection closed, so a pool stops using it.
import { L4meshError } from '../../../errors/index.js';
import type { H2Session } from './session.js';

export function watchLiveness(session: H2Session, intervalMs: number, timeoutMs: number): void {
  let outstanding = false;
  const timer = setInterval(() => {
    if (outstanding || session.destroyed) return;
    outstanding = true;
    const deadline = setTimeout(() => {
      session.destroy(new L4meshError('L4MESH_ERR_HTTP2_CONNECTION', `the HBONE peer did not answer a PING within ${timeoutMs} ms — the connection is dead or the peer is wedged`));
    }, timeoutMs);
    deadline.unref();
    session.ping().then(
      () => {
        outstanding = false;
        clearTimeout(deadline);
      },
      () => clearTimeout(deadline),
    );
  }, intervalMs);
  timer.unref();
  session.once('close', () => clearInterval(timer));
}
