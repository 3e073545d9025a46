// Read-only configuration for proxies that is not (yet) an xDS type: GET /proxy/v1/routes?namespace=NS
// gives a waypoint the VirtualServices and DestinationRules of its namespace. Authenticated with a node
// token (as xDS is), never the admin token; an ETag lets a 1 s poll cost a 304 while nothing changes.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeTokenStore } from '../ca/node-tokens.js';
import type { MeshStore } from '../store/mesh-store.js';
import { ResourceApiError, sendError, sendJson } from './http-errors.js';

export const PROXY_ROUTES_PATH = '/proxy/v1/routes';

type Handler = (req: IncomingMessage, res: ServerResponse) => boolean;

function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** Answers PROXY_ROUTES_PATH and returns true; returns false for every other path. */
export function createProxyConfigHandler(store: Pick<MeshStore, 'list'>, tokens: Pick<NodeTokenStore, 'verify'>): Handler {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== PROXY_ROUTES_PATH) return false;
    try {
      const token = bearer(req);
      if (!token || !tokens.verify(token)) {
        throw new ResourceApiError(401, 'L4MESH_ERR_UNAUTHENTICATED', 'missing or unknown node token: send "Authorization: Bearer <node token>" (<state dir>/tokens/<node>.token)', {
          headers: { 'www-authenticate': 'Bearer' },
        });
      }
      if (req.method !== 'GET') {
        throw new ResourceApiError(405, 'L4MESH_ERR_METHOD_NOT_ALLOWED', `method ${req.method ?? ''} is not allowed here; use GET`, { headers: { allow: 'GET' } });
      }
      const namespace = url.searchParams.get('namespace');
      if (!namespace) throw new ResourceApiError(400, 'L4MESH_ERR_BAD_REQUEST', 'query parameter "namespace" is required');
      const body = {
        namespace,
        virtualServices: store.list('VirtualService', namespace),
        destinationRules: store.list('DestinationRule', namespace),
      };
      const text = JSON.stringify(body);
      // A hash of the content rather than the store's global resourceVersion: writes to other kinds or
      // namespaces do not make every waypoint re-read its routes.
      const etag = `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag });
        res.end();
        return true;
      }
      sendJson(res, 200, body, { etag });
    } catch (err) {
      sendError(res, err);
    }
    return true;
  };
}
