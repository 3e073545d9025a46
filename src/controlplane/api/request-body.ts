// Reads a request body with a size cap, and parses a PUT body (JSON or YAML) into one object.
import type { IncomingMessage } from 'node:http';
import { parseAllDocuments } from 'yaml';
import { L4meshError } from '../../errors/index.js';
import { ResourceApiError } from './http-errors.js';

/** Far above any real manifest set (Bookinfo is ~20 KiB), small enough that a stray upload cannot exhaust memory. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

function tooLarge(limit: number): ResourceApiError {
  return new ResourceApiError(
    413,
    'L4MESH_ERR_BODY_TOO_LARGE',
    `request body is larger than ${limit} bytes; split the manifests into several requests`,
  );
}

/** Resolves to the body as UTF-8; rejects with a 413 error as soon as the body passes `limit`, reading no further. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks).toString('utf8'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}

/** Caps YAML alias expansion ("billion laughs"), as the manifest parser does. */
const MAX_ALIAS_COUNT = 100;

/** Parses a PUT body: exactly one JSON or YAML object (JSON is YAML, so one parser serves both). */
export function parseSingleObject(text: string): Record<string, unknown> {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const first = doc.errors[0];
    if (first) throw new L4meshError('L4MESH_ERR_YAML', `request body is not valid JSON or YAML: ${first.message}`);
  }
  const objects = list.map((d) => d.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown).filter((v) => v !== null && v !== undefined);
  if (objects.length !== 1) {
    throw new ResourceApiError(400, 'L4MESH_ERR_BAD_REQUEST', `PUT takes exactly one object, the body holds ${objects.length}; use POST /apply for several`);
  }
  const obj = objects[0];
  if (typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ResourceApiError(400, 'L4MESH_ERR_BAD_REQUEST', 'PUT takes one object (a mapping with apiVersion, kind, metadata)');
  }
  return obj as Record<string, unknown>;
}
