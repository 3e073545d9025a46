// Reads a request body with a size cap, and parses a PUT body (JSON or YAML) into the one resource its URL names.
import type { IncomingMessage } from 'node:http';
import { kindByName } from '../../api/kinds.js';
import { validateResource } from '../../api/manifest.js';
import type { Resource } from '../../api/types.js';
import { DEFAULT_MANIFEST_LIMITS, MAX_MANIFEST_BYTES, type ManifestLimits } from '../../api/manifest-limits.js';
import { readYamlDocuments } from '../../api/yaml-documents.js';
import { L4meshError } from '../../errors/index.js';
import { ResourceApiError } from './http-errors.js';

/** The largest request body: the manifest size limit the CLI also reads files up to. */
export const MAX_BODY_BYTES = MAX_MANIFEST_BYTES;

function tooLarge(limit: number): ResourceApiError {
  return new ResourceApiError(
    413,
    'L4MESH_ERR_BODY_TOO_LARGE',
    `request body is larger than ${limit} bytes; split the manifests into several requests`,
  );
}

/** Resolves to the body's bytes; rejects with a 413 error as soon as the body passes `limit`, reading no further. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  // With a declared length the bytes are copied in as they arrive: one 16 MiB concat at the end held the
  // event loop for hundreds of milliseconds on a loaded machine. The buffer is the body's alone, so the
  // parse worker can take it over without a copy.
  const into = Number.isFinite(declared) && declared > 0 ? Buffer.allocUnsafeSlow(declared) : undefined;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > limit || (into && size + chunk.length > into.length)) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      if (into) chunk.copy(into, size);
      else chunks.push(chunk);
      size += chunk.length;
    };
    const onEnd = () => resolve(into ? into.subarray(0, size) : Buffer.concat(chunks));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}

/** Parses a PUT body: exactly one JSON or YAML object (JSON is YAML, so one parser serves both). */
export function parseSingleObject(text: string, limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS): Record<string, unknown> {
  const objects: unknown[] = [];
  try {
    for (const { value } of readYamlDocuments(text, limits)) if (value !== null && value !== undefined) objects.push(value);
  } catch (err) {
    if (err instanceof L4meshError && err.code === 'L4MESH_ERR_YAML') {
      throw new L4meshError('L4MESH_ERR_YAML', `request body is not valid JSON or YAML: ${err.message}`, { cause: err });
    }
    throw err;
  }
  if (objects.length !== 1) {
    throw new ResourceApiError(400, 'L4MESH_ERR_BAD_REQUEST', `PUT takes exactly one object, the body holds ${objects.length}; use POST /apply for several`);
  }
  const obj = objects[0];
  if (typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ResourceApiError(400, 'L4MESH_ERR_BAD_REQUEST', 'PUT takes one object (a mapping with apiVersion, kind, metadata)');
  }
  return obj as Record<string, unknown>;
}

/** What a PUT's URL names: the body must be this kind, namespace and name. */
export interface PutTarget {
  kind: string;
  namespace: string;
  name: string;
}

/** Validates a PUT body against its path: kind, namespace and name must all agree with the URL. */
export function resourceForPut(target: PutTarget, body: string, limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS): Resource {
  const { kind, namespace, name } = target;
  const obj = parseSingleObject(body, limits);
  const meta = obj['metadata'];
  // As in Kubernetes, a body without a namespace takes the one in the path.
  if (kindByName(kind)?.namespaced && meta && typeof meta === 'object' && !Array.isArray(meta) && (meta as Record<string, unknown>)['namespace'] === undefined) {
    obj['metadata'] = { ...(meta as Record<string, unknown>), namespace };
  }
  const resource = validateResource(obj, 1);
  const mismatch = (path: string, inBody: string, inPath: string) =>
    new ResourceApiError(400, 'L4MESH_ERR_INVALID_RESOURCE', `${path} "${inBody}" in the body does not match "${inPath}" in the URL`, { path });
  if (resource.kind !== kind) throw mismatch('kind', resource.kind, kind);
  if ((resource.metadata.namespace ?? '') !== namespace) throw mismatch('metadata.namespace', resource.metadata.namespace ?? '', namespace);
  if (resource.metadata.name !== name) throw mismatch('metadata.name', resource.metadata.name, name);
  // As in Kubernetes, a resourceVersion in a PUT body is a precondition: the store refuses the write with 409
  // when the object has changed since. (Validation drops it from what gets stored.)
  const expected = (meta as Record<string, unknown> | undefined)?.['resourceVersion'];
  if (expected === undefined || expected === null || expected === '') return resource;
  if (typeof expected !== 'string' && !Number.isSafeInteger(expected)) {
    throw new ResourceApiError(400, 'L4MESH_ERR_INVALID_RESOURCE', `metadata.resourceVersion must be a string such as "12", got ${JSON.stringify(expected)}`, {
      path: 'metadata.resourceVersion',
    });
  }
  return { ...resource, metadata: { ...resource.metadata, resourceVersion: String(expected) } };
}
