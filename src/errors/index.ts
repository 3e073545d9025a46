// One error hierarchy for l4mesh: every error has a stable code that tests and callers match on.

export type ErrorCode =
  | 'L4MESH_ERR_INVALID_RESOURCE'
  | 'L4MESH_ERR_UNKNOWN_KIND'
  | 'L4MESH_ERR_YAML'
  | 'L4MESH_ERR_NOT_FOUND'
  | 'L4MESH_ERR_CONFLICT'
  | 'L4MESH_ERR_UNAUTHENTICATED'
  | 'L4MESH_ERR_PERMISSION_DENIED'
  | 'L4MESH_ERR_INVALID_CSR'
  | 'L4MESH_ERR_CONFIG'
  | 'L4MESH_ERR_STORE'
  // The store's backend (etcd) cannot be reached: nothing was changed, retry once it is back.
  | 'L4MESH_ERR_STORE_UNAVAILABLE'
  // A watch asked for changes after a resourceVersion older than the store keeps history for.
  | 'L4MESH_ERR_GONE'
  | 'L4MESH_ERR_NO_CONTROL_PLANE'
  | 'L4MESH_ERR_ADDRESS_IN_USE'
  | 'L4MESH_ERR_NO_HEALTHY_UPSTREAM'
  | 'L4MESH_ERR_CONNECT_TIMEOUT'
  | 'L4MESH_ERR_IDENTITY_MISMATCH'
  | 'L4MESH_ERR_POLICY_DENIED'
  | 'L4MESH_ERR_PROTOCOL'
  | 'L4MESH_ERR_CERTIFICATE'
  | 'L4MESH_ERR_BODY_TOO_LARGE'
  | 'L4MESH_ERR_METHOD_NOT_ALLOWED'
  | 'L4MESH_ERR_BAD_REQUEST'
  // What one manifest request may cost (src/api/manifest-limits.ts, src/controlplane/api/manifest-parser.ts),
  // and a bug nobody anticipated (never blamed on the store or the client).
  | 'L4MESH_ERR_TOO_MANY_DOCUMENTS'
  | 'L4MESH_ERR_YAML_TOO_DEEP'
  | 'L4MESH_ERR_YAML_TOO_MANY_ALIASES'
  | 'L4MESH_ERR_NOT_TEXT'
  | 'L4MESH_ERR_PARSE_TIMEOUT'
  | 'L4MESH_ERR_PARSE_MEMORY'
  | 'L4MESH_ERR_INTERNAL'
  // Our HTTP/2 framing layer (dataplane/hbone/h2): a connection-level error or GOAWAY, a stream reset,
  // a header block that does not decode.
  | 'L4MESH_ERR_HTTP2_CONNECTION'
  | 'L4MESH_ERR_HTTP2_STREAM_RESET'
  | 'L4MESH_ERR_HPACK'
  // netns mode (src/dataplane/capture/netns): what it needs is missing (addon, root, Linux), or a
  // namespace/link/rule operation failed.
  | 'L4MESH_ERR_NETNS_UNAVAILABLE'
  | 'L4MESH_ERR_NETNS'
  // The console's Prometheus (--prometheus or the one `dashboard prometheus` started) did not answer a query.
  | 'L4MESH_ERR_PROMETHEUS';

export class L4meshError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'L4meshError';
  }
}

/** A resource failed validation; `path` names the offending field, e.g. `spec.subsets[1].labels`. */
export class InvalidResourceError extends L4meshError {
  readonly documentIndex: number;
  readonly kind: string;
  readonly resourceName: string;
  readonly path: string;
  constructor(documentIndex: number, kind: string, resourceName: string, path: string, problem: string) {
    super(
      'L4MESH_ERR_INVALID_RESOURCE',
      `document ${documentIndex}: ${kind}/${resourceName || '<unnamed>'}: ${path ? path + ': ' : ''}${problem}`,
    );
    this.documentIndex = documentIndex;
    this.kind = kind;
    this.resourceName = resourceName;
    this.path = path;
  }
}
