// The messages between the resource API and its parse worker (manifest-parser.ts ↔ manifest-parse-worker.ts).
import type { ManifestLimits } from '../../api/manifest-limits.js';
import type { Resource } from '../../api/types.js';
import type { ErrorCode } from '../../errors/index.js';
import type { PutTarget } from './request-body.js';

export interface ParseRequest {
  id: number;
  body: Uint8Array;
  limits: ManifestLimits;
  /** Set for a PUT: the body is one object that must match this kind, namespace and name. */
  put?: PutTarget;
}

/** An L4meshError as plain data; the HTTP status travels when the worker decided it (ResourceApiError). */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  status?: number;
  path?: string;
}

export type ParseReply = { id: number; resources: Resource[]; error?: undefined } | { id: number; error: SerializedError; resources?: undefined };

/** The worker's first message: its code is loaded, so a parse's time limit may start counting. */
export const WORKER_READY = 'ready';
