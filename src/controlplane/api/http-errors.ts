// How the resource API turns errors into HTTP statuses and JSON bodies.
import type { ServerResponse } from 'node:http';
import { InvalidResourceError, L4meshError, type ErrorCode } from '../../errors/index.js';

/** An error whose HTTP status is decided where it is raised (e.g. 404 for a path naming no kind). */
export class ResourceApiError extends L4meshError {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** The offending field, for errors about the body (e.g. `metadata.name` not matching the URL). */
  readonly path: string | undefined;
  constructor(status: number, code: ErrorCode, message: string, extra: { headers?: Record<string, string>; path?: string } = {}) {
    super(code, message);
    this.status = status;
    this.headers = extra.headers ?? {};
    this.path = extra.path;
    this.name = 'ResourceApiError';
  }
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  L4MESH_ERR_INVALID_RESOURCE: 400,
  L4MESH_ERR_UNKNOWN_KIND: 400, // a body naming an unknown kind; unknown kind *paths* raise a 404 ResourceApiError
  L4MESH_ERR_YAML: 400,
  L4MESH_ERR_BAD_REQUEST: 400,
  L4MESH_ERR_UNAUTHENTICATED: 401,
  L4MESH_ERR_PERMISSION_DENIED: 403,
  L4MESH_ERR_NOT_FOUND: 404,
  L4MESH_ERR_METHOD_NOT_ALLOWED: 405,
  L4MESH_ERR_CONFLICT: 409,
  L4MESH_ERR_GONE: 410,
  L4MESH_ERR_BODY_TOO_LARGE: 413,
  // What one request may cost: the client's input is at fault, so 4xx, never 500.
  L4MESH_ERR_YAML_TOO_DEEP: 400,
  L4MESH_ERR_YAML_TOO_MANY_ALIASES: 400,
  L4MESH_ERR_NOT_TEXT: 400,
  L4MESH_ERR_TOO_MANY_DOCUMENTS: 413,
  L4MESH_ERR_PARSE_TIMEOUT: 413,
  L4MESH_ERR_PARSE_MEMORY: 413,
  L4MESH_ERR_INTERNAL: 500,
  L4MESH_ERR_STORE_UNAVAILABLE: 503,
};

/** The HTTP status an error code stands for when the raiser did not choose one; 500 for codes not listed. */
export function statusOf(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? 500;
}

export interface ErrorBody {
  error: { code: string; message: string; path?: string };
}

export function errorResponse(err: unknown): { status: number; headers: Record<string, string>; body: ErrorBody } {
  if (err instanceof L4meshError) {
    const status = err instanceof ResourceApiError ? err.status : statusOf(err.code);
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    const path = err instanceof InvalidResourceError || err instanceof ResourceApiError ? err.path : undefined;
    if (path) body.error.path = path;
    return { status, headers: err instanceof ResourceApiError ? err.headers : {}, body };
  }
  // Not one of ours: a bug. Say so rather than blaming the request or the store.
  const message = `internal error in the control plane's resource API: ${(err as Error)?.message ?? String(err)}; check the control plane's log`;
  return { status: 500, headers: {}, body: { error: { code: 'L4MESH_ERR_INTERNAL', message } } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const { status, headers, body } = errorResponse(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, body, headers);
}
