// Client side of the watch API: one streaming request, each newline-delimited event handed over as it arrives.
import { request, type IncomingMessage } from 'node:http';
import type { KindInfo } from '../../api/kinds.js';
import type { Resource } from '../../api/types.js';
import { L4meshError, type ErrorCode } from '../../errors/index.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  object: Resource;
}

/** Connecting (up to the response headers) fails fast on a hung control plane; the stream itself has no timeout. */
export const WATCH_CONNECT_TIMEOUT_MS = 15_000;
/** One event line beyond this is not from our control plane; refuse rather than buffer without bound. */
const MAX_EVENT_LINE_BYTES = 64 * 1024 * 1024;

export class WatchError extends L4meshError {
  constructor(
    code: ErrorCode,
    message: string,
    /** HTTP status; 0 when no answer arrived. 410 means "list again". */
    readonly status: number,
  ) {
    super(code, message);
  }
}

export interface WatchRequest {
  /** host:port of the control plane's HTTP server. */
  address: string;
  token: string;
  /** The collection path, e.g. /apis/apps/v1/deployments. */
  path: string;
  /** Start after this resourceVersion; undefined sends the current state as ADDED first. */
  resourceVersion?: string;
  labelSelector?: string;
  signal?: AbortSignal;
}

function readError(res: IncomingMessage): Promise<WatchError> {
  return new Promise((resolve) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (text += c));
    res.on('error', () => undefined);
    res.on('end', () => {
      let body: { error?: { code?: string; message?: string } } | undefined;
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        body = undefined;
      }
      const code = (body?.error?.code as ErrorCode | undefined) ?? 'L4MESH_ERR_PROTOCOL';
      resolve(new WatchError(code, body?.error?.message ?? `watch: HTTP ${res.statusCode ?? 0} ${text.slice(0, 200)}`, res.statusCode ?? 0));
    });
  });
}

/**
 * Streams events to `onEvent` until the server ends the stream (resolves), the signal aborts
 * (resolves), or the request fails (rejects with a WatchError; status 410 when the version is too old).
 */
export function watchCollection(w: WatchRequest, onEvent: (e: WatchEvent) => void): Promise<void> {
  const q = new URLSearchParams({ watch: '1' });
  if (w.resourceVersion !== undefined) q.set('resourceVersion', w.resourceVersion);
  if (w.labelSelector) q.set('labelSelector', w.labelSelector);
  const [host, port] = splitAddress(w.address);
  return new Promise((resolve, reject) => {
    if (w.signal?.aborted) return resolve();
    const req = request({ host, port, path: `${w.path}?${q}`, method: 'GET', headers: { authorization: `Bearer ${w.token}` }, agent: false });
    const connectTimer = setTimeout(() => req.destroy(new Error(`no answer within ${WATCH_CONNECT_TIMEOUT_MS} ms`)), WATCH_CONNECT_TIMEOUT_MS);
    const onAbort = (): void => {
      req.destroy();
      resolve();
    };
    w.signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      clearTimeout(connectTimer);
      w.signal?.removeEventListener('abort', onAbort);
    };
    req.on('error', (err) => {
      done();
      if (w.signal?.aborted) return resolve();
      reject(new WatchError('L4MESH_ERR_NO_CONTROL_PLANE', `watch of ${w.path} at ${w.address} failed: ${err.message} — is the control plane running?`, 0));
    });
    req.on('response', (res) => {
      clearTimeout(connectTimer);
      if (res.statusCode !== 200) {
        void readError(res).then((e) => {
          done();
          reject(e);
        });
        return;
      }
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.trim() === '') continue;
          try {
            onEvent(JSON.parse(line) as WatchEvent);
          } catch (err) {
            req.destroy(err as Error);
            return;
          }
        }
        if (buffered.length > MAX_EVENT_LINE_BYTES) req.destroy(new Error('an event line exceeds 64 MiB'));
      });
      let ended = false;
      res.on('end', () => (ended = true));
      res.on('error', () => undefined);
      res.on('close', () => {
        done();
        if (ended || w.signal?.aborted) resolve();
        else reject(new WatchError('L4MESH_ERR_NO_CONTROL_PLANE', `watch of ${w.path} at ${w.address} broke off — did the control plane stop?`, 0));
      });
    });
    req.end();
  });
}

/** Where a kind's collection lives, across namespaces or in one. */
export function collectionPathOf(info: KindInfo, namespace: string | undefined): string {
  const prefix = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = info.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${prefix}${ns}/${info.plural}`;
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), Number(address.slice(i + 1))];
}
