// The control plane's resource API on its HTTP port: Kubernetes-shaped GET/PUT/DELETE plus POST /apply and /delete.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiVersionOf, type KindInfo } from '../../api/kinds.js';
import { checkSubsets } from '../../api/cross-check.js';
import { keyOf, type ApplyResult, type Resource } from '../../api/types.js';
import { L4meshError } from '../../errors/index.js';
import { adminTokenPath } from '../../config/state-layout.js';
import type { MeshStore } from '../store/mesh-store.js';
import { ResourceApiError, sendError, sendJson } from './http-errors.js';
import { matchesLabels, parseLabelSelector } from './label-selector.js';
import { ManifestParser, type ParseCostLimits } from './manifest-parser.js';
import { MAX_BODY_BYTES, readBody } from './request-body.js';
import { parseRoute, type Route } from './routes.js';
import { isWatchRequest, serveWatch } from './watch-stream.js';

export interface ResourceApiOptions {
  /** The token from `<stateDir>/admin.token`; every request must send `Authorization: Bearer <token>`. */
  adminToken: string;
  /** Largest accepted request body; MAX_BODY_BYTES unless a test wants a smaller one. */
  maxBodyBytes?: number;
  /** What parsing one body may cost (time, heap, documents, nesting, aliases); the defaults unless a test wants smaller. */
  parseLimits?: Partial<ParseCostLimits>;
}

export interface DeleteResult {
  kind: string;
  namespace: string;
  name: string;
  action: 'deleted' | 'notfound';
}

export interface ResourceList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string };
  items: Resource[];
}

type Handler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Hashing both sides first gives equal-length inputs, so the comparison time says nothing about the token. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function authorized(req: IncomingMessage, expected: Buffer): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return timingSafeEqual(digest(match?.[1] ?? ''), expected) && match !== null;
}

function methodNotAllowed(method: string | undefined, allowed: string[]): ResourceApiError {
  return new ResourceApiError(405, 'L4MESH_ERR_METHOD_NOT_ALLOWED', `method ${method ?? ''} is not allowed here; use ${allowed.join(' or ')}`, {
    headers: { allow: allowed.join(', ') },
  });
}

/**
 * Returns a request handler for the resource API. It answers and returns true for its own paths
 * (/api/..., /apis/..., /apply, /delete) and returns false, touching nothing, for any other path so the
 * caller can route it elsewhere on the same server.
 */
export function createResourceApiHandler(store: MeshStore, opts: ResourceApiOptions): Handler {
  if (!opts.adminToken) throw new L4meshError('L4MESH_ERR_CONFIG', 'the resource API needs an admin token; ensureAdminToken(stateDir) provides one');
  const expected = digest(opts.adminToken);
  const limit = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const parser = new ManifestParser(opts.parseLimits);
  return (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    let route: Route | undefined;
    try {
      route = parseRoute(pathname);
    } catch (err) {
      // A path under /api or /apis naming nothing we serve: still ours, but authenticate before saying so.
      respond(req, res, expected, () => Promise.reject(err));
      return true;
    }
    if (!route) return false;
    const r = route;
    respond(req, res, expected, () => serve(store, parser, r, req, res, limit));
    return true;
  };
}

function respond(req: IncomingMessage, res: ServerResponse, expected: Buffer, work: () => Promise<void>): void {
  if (!authorized(req, expected)) {
    sendError(
      res,
      new ResourceApiError(
        401,
        'L4MESH_ERR_UNAUTHENTICATED',
        `missing or wrong admin token: send "Authorization: Bearer <token>" with the token from ${adminTokenPath('<state dir>')}`,
        { headers: { 'www-authenticate': 'Bearer' } },
      ),
    );
    return;
  }
  work().catch((err: unknown) => {
    sendError(res, err);
    if (err instanceof ResourceApiError && err.status === 413) lingerThenClose(req);
  });
}

/**
 * How long a connection stays open after a 413 while the client may still be sending. Closing a socket
 * with unread input makes the kernel send a reset, and a client busy writing then loses the 413 it had
 * not read yet; a short grace period (as web servers' "lingering close") lets it read the answer.
 */
const LINGER_AFTER_413_MS = 1000;

/** Discards (never buffers) what the client still sends, then closes the connection. */
function lingerThenClose(req: IncomingMessage): void {
  const socket = req.socket;
  req.on('data', () => undefined);
  req.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_AFTER_413_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

async function serve(store: MeshStore, parser: ManifestParser, route: Route, req: IncomingMessage, res: ServerResponse, limit: number): Promise<void> {
  const method = req.method ?? 'GET';
  switch (route.type) {
    case 'apply': {
      if (method !== 'POST') throw methodNotAllowed(method, ['POST']);
      const resources = await parser.parseManifests(await readBody(req, limit));
      checkSubsets(resources, store.list('DestinationRule'));
      const results: ApplyResult[] = await store.apply(resources);
      sendJson(res, 200, { results });
      return;
    }
    case 'delete': {
      if (method !== 'POST') throw methodNotAllowed(method, ['POST']);
      const keys = (await parser.parseManifests(await readBody(req, limit))).map(keyOf);
      const deleted = await store.deleteMany(keys);
      const results: DeleteResult[] = keys.map((k, i) => ({ ...k, action: deleted[i] ? 'deleted' : 'notfound' }));
      sendJson(res, 200, { results });
      return;
    }
    case 'list': {
      if (method !== 'GET') throw methodNotAllowed(method, ['GET']);
      const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
      const selector = query.get('labelSelector');
      const requirements = selector ? parseLabelSelector(selector) : [];
      if (isWatchRequest(query)) {
        serveWatch(store, { info: route.info, namespace: route.namespace, requirements }, query, req, res);
        return;
      }
      const items = store.list(route.info.kind, route.namespace).filter((r) => matchesLabels(requirements, r.metadata.labels));
      const list: ResourceList = {
        apiVersion: apiVersionOf(route.info),
        kind: `${route.info.kind}List`,
        metadata: { resourceVersion: store.resourceVersion },
        items,
      };
      sendJson(res, 200, list);
      return;
    }
    case 'object':
      return serveObject(store, parser, route, method, req, res, limit);
  }
}

function notFound(info: KindInfo, namespace: string, name: string): ResourceApiError {
  const where = info.namespaced ? ` in namespace "${namespace}"` : '';
  return new ResourceApiError(404, 'L4MESH_ERR_NOT_FOUND', `${info.plural} "${name}" not found${where}`);
}

async function serveObject(
  store: MeshStore,
  parser: ManifestParser,
  route: Extract<Route, { type: 'object' }>,
  method: string,
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
): Promise<void> {
  const { info, namespace, name } = route;
  if (method === 'GET') {
    const found = store.get(info.kind, namespace, name);
    if (!found) throw notFound(info, namespace, name);
    sendJson(res, 200, found);
  } else if (method === 'DELETE') {
    const deleted = await store.delete(info.kind, namespace, name);
    if (!deleted) throw notFound(info, namespace, name);
    sendJson(res, 200, deleted);
  } else if (method === 'PUT') {
    const resource = await parser.parseObject(await readBody(req, limit), { kind: info.kind, namespace, name });
    const { action, resource: stored } = await store.put(resource);
    sendJson(res, action === 'created' ? 201 : 200, stored);
  } else {
    throw methodNotAllowed(method, ['GET', 'PUT', 'DELETE']);
  }
}
