// `GET <collection>?watch=1&resourceVersion=N`: streams ADDED/MODIFIED/DELETED after N as
// newline-delimited JSON `{"type":..,"object":..}`, Kubernetes' watch protocol.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KindInfo } from '../../api/kinds.js';
import type { Resource } from '../../api/types.js';
import type { MeshStore } from '../store/mesh-store.js';
import type { WatchEvent } from '../store/watch-history.js';
import { ResourceApiError } from './http-errors.js';
import { matchesLabels, type LabelRequirement } from './label-selector.js';

/**
 * A watcher that stops reading is dropped once this much is queued for it, rather than holding the
 * control plane's memory hostage; it reconnects from the last resourceVersion it saw.
 */
export const MAX_WATCH_BACKLOG_BYTES = 16 * 1024 * 1024;

export function isWatchRequest(query: URLSearchParams): boolean {
  const v = query.get('watch');
  return v === '1' || v === 'true';
}

/** The resourceVersion to start after; undefined (absent or "0") means "send the current state first". */
function startVersion(query: URLSearchParams): number | undefined {
  const v = query.get('resourceVersion');
  if (v === null || v === '' || v === '0') return undefined;
  if (!/^\d{1,15}$/.test(v)) {
    throw new ResourceApiError(400, 'L4MESH_ERR_BAD_REQUEST', `resourceVersion=${JSON.stringify(v)}: a watch starts after a decimal resourceVersion taken from a list or an object`);
  }
  return Number(v);
}

export interface WatchTarget {
  info: KindInfo;
  /** undefined: every namespace. */
  namespace: string | undefined;
  requirements: LabelRequirement[];
}

function selected(target: WatchTarget, r: Resource): boolean {
  if (r.kind !== target.info.kind) return false;
  if (target.namespace !== undefined && (r.metadata.namespace ?? '') !== target.namespace) return false;
  return matchesLabels(target.requirements, r.metadata.labels);
}

/**
 * Starts the stream. The current state (when asked for) and the subscription are taken in one
 * synchronous step, so no change falls between them. Throws (before any byte is sent) a 410 when N
 * is older than the kept history and a 400 for a malformed N.
 */
export function serveWatch(store: MeshStore, target: WatchTarget, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
  const from = startVersion(query);
  const lines: string[] = [];
  let live = false;
  let unsubscribe: (() => void) | undefined;
  const send = (e: WatchEvent): void => {
    if (!selected(target, e.object)) return;
    const line = JSON.stringify(e) + '\n';
    if (!live) {
      lines.push(line);
      return;
    }
    res.write(line);
    if (res.writableLength > MAX_WATCH_BACKLOG_BYTES) res.destroy();
  };
  let after = from;
  if (after === undefined) {
    after = Number(store.resourceVersion);
    for (const object of store.list(target.info.kind, target.namespace)) send({ type: 'ADDED', object });
  }
  try {
    unsubscribe = store.watch(after, send);
  } catch (err) {
    if ((err as { code?: string }).code === 'L4MESH_ERR_GONE') throw new ResourceApiError(410, 'L4MESH_ERR_GONE', (err as Error).message);
    throw err;
  }
  const stop = (): void => unsubscribe?.();
  res.on('close', stop);
  req.on('close', stop);
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  // Headers now, so a client learns the watch is established even before the first change.
  res.flushHeaders();
  live = true;
  for (const line of lines) res.write(line);
}
