// Worker thread that parses and validates request bodies (manifests for /apply and /delete, one object
// for PUT) so that a large or hostile body never holds the control plane's event loop.
import { parentPort } from 'node:worker_threads';
import { parseManifests } from '../../api/manifest.js';
import { decodeManifestText } from '../../api/manifest-text.js';
import { InvalidResourceError, L4meshError } from '../../errors/index.js';
import { ResourceApiError } from './http-errors.js';
import { resourceForPut } from './request-body.js';
import { WORKER_READY, type ParseReply, type ParseRequest, type SerializedError } from './manifest-parse-protocol.js';

function serialize(err: unknown): SerializedError {
  if (err instanceof L4meshError) {
    const out: SerializedError = { code: err.code, message: err.message };
    if (err instanceof ResourceApiError) out.status = err.status;
    const path = err instanceof ResourceApiError || err instanceof InvalidResourceError ? err.path : undefined;
    if (path) out.path = path;
    return out;
  }
  return { code: 'L4MESH_ERR_INTERNAL', message: `internal error while parsing the request body: ${(err as Error)?.message ?? String(err)}` };
}

function handle(req: ParseRequest): ParseReply {
  try {
    const text = decodeManifestText(req.body, 'request body');
    const resources = req.put ? [resourceForPut(req.put, text, req.limits)] : parseManifests(text, req.limits);
    return { id: req.id, resources };
  } catch (err) {
    return { id: req.id, error: serialize(err) };
  }
}

parentPort!.on('message', (req: ParseRequest) => parentPort!.postMessage(handle(req)));
parentPort!.postMessage(WORKER_READY);
