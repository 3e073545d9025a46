// One HBONE CONNECT on a pooled HTTP/2 connection: the request, its deadline, and which failures another
// connection could fix (a refused stream, a connection that stopped answering PINGs).
import { constants as h2 } from 'node:http2';
import { L4meshError } from '../../errors/index.js';
import { connectTimeoutError } from './dial.js';
import type { HboneClientSession, HboneStream } from './transport.js';

/** A CONNECT that failed in a way another connection may not: refused, or stuck on a silent connection. */
export class RetryElsewhere extends Error {
  constructor(readonly error: L4meshError) {
    super(error.message);
  }
}

/** What a CONNECT needs of its pooled connection. */
export interface StreamSlot {
  session: HboneClientSession;
  usable: boolean;
  /** CONNECTs sent here still waiting for their response; each is told to go elsewhere on an overdue PING. */
  waiting: Set<() => void>;
}

function statusError(status: number, authority: string, where: string): L4meshError {
  if (status === 401 || status === 403) {
    return new L4meshError('L4MESH_ERR_POLICY_DENIED', `connection to ${authority} via ${where} was denied by the destination's authorization policy (HTTP ${status})`);
  }
  if (status === 503) {
    return new L4meshError('L4MESH_ERR_NO_HEALTHY_UPSTREAM', `destination proxy ${where} could not connect to ${authority} (HTTP 503) — is the workload listening on that port?`);
  }
  return new L4meshError('L4MESH_ERR_PROTOCOL', `destination proxy ${where} answered CONNECT ${authority} with HTTP ${status}`);
}

/**
 * Sends CONNECT on `slot`'s session; resolves with the stream once the destination answered 200. `release`
 * runs when the stream closes, whatever happened. Failures another connection could fix reject with
 * RetryElsewhere.
 */
export function openConnectStream(
  slot: StreamSlot,
  release: () => void,
  request: { authority: string; headers: Record<string, string> },
  where: string,
  timeoutMs: number,
  connectTimeoutMs: number,
): Promise<HboneStream> {
  // The listeners below live as long as the tunnel, so they capture the authority, not the request and
  // its headers (the stream keeps its own copy of those): the stream is opened outside their scope.
  const authority = request.authority;
  let stream: HboneStream;
  try {
    stream = slot.session.request({ ':method': 'CONNECT', ':authority': authority, ...request.headers }, { endStream: false });
  } catch (err) {
    // The session is closing (GOAWAY, idle close) or destroyed: another connection can take the stream.
    slot.usable = false;
    release();
    return Promise.reject(new RetryElsewhere(new L4meshError('L4MESH_ERR_PROTOCOL', `cannot open a stream to ${where}: ${(err as Error).message}`, { cause: err })));
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    // Dropped once settled: the 'close' listener below outlives the setup by the tunnel's whole life.
    let timer: NodeJS.Timeout | undefined;
    const goElsewhere = (): void =>
      settle(new RetryElsewhere(new L4meshError('L4MESH_ERR_CONNECT_TIMEOUT', `${where} stopped answering HTTP/2 PINGs while CONNECT ${authority} waited — is the destination node proxy running?`)));
    slot.waiting.add(goElsewhere);
    const settle = (err?: L4meshError | RetryElsewhere): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      timer = undefined;
      slot.waiting.delete(goElsewhere);
      if (err) {
        if (!stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
        reject(err);
      } else {
        resolve(stream);
      }
    };
    // REFUSED_STREAM: the server did not process it (its stream limit was reached, or it is going away).
    const retriable = (e: L4meshError): L4meshError | RetryElsewhere => (stream.rstCode === h2.NGHTTP2_REFUSED_STREAM ? new RetryElsewhere(e) : e);
    timer = setTimeout(() => settle(connectTimeoutError(where, connectTimeoutMs)), timeoutMs);
    timer.unref();
    stream.once('close', () => {
      release();
      // Every tunnel's stream closes; only one that never answered is a failure. Building the error
      // (a stack capture) only then took ~2 % of a node proxy's CPU in the connection-rate profile.
      if (settled) return;
      settle(retriable(new L4meshError('L4MESH_ERR_PROTOCOL', `destination proxy ${where} closed the stream for ${authority} before answering (HTTP/2 code ${stream.rstCode}) — it may have refused our certificate`)));
    });
    stream.on('error', (err: Error) => {
      settle(retriable(new L4meshError('L4MESH_ERR_PROTOCOL', `HBONE stream to ${where} for ${authority} failed before the response: ${err.message}`, { cause: err })));
    });
    stream.once('response', (headers: Record<string, string | number | undefined>) => {
      const status = Number(headers[':status']);
      settle(status === 200 ? undefined : statusError(status, authority, where));
    });
  });
}
