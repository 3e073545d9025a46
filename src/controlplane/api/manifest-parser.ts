// Parses request bodies in a worker thread with a time limit and a heap limit, one body at a time, so
// that xDS, the CA and /ready keep answering while a large /apply is parsed; the store stays on the main thread.
import { Worker } from 'node:worker_threads';
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from '../../api/manifest-limits.js';
import type { Resource } from '../../api/types.js';
import type { L4meshError } from '../../errors/index.js';
import { ResourceApiError, statusOf } from './http-errors.js';
import { WORKER_READY, type ParseReply, type ParseRequest } from './manifest-parse-protocol.js';
import type { PutTarget } from './request-body.js';

/**
 * Longest one body may take to parse and validate. 16 MiB of ordinary manifests (the body limit)
 * takes ~5-15 s on a loaded 2-core machine, Bookinfo ~50 ms; past 20 s the body is pathological.
 */
export const PARSE_TIMEOUT_MS = 20_000;

/**
 * Heap of the parse worker. Parsing holds one document's syntax tree at a time plus the parsed
 * resources: 10,000 Bookinfo-sized Deployments (15 MB) peak near 250 MB. Today's 2.5 GiB for one
 * body becomes a refusal at 512 MiB, and the control plane's own heap is never at risk.
 */
export const PARSE_MAX_HEAP_MB = 512;

export interface ParseCostLimits {
  timeoutMs: number;
  maxHeapMb: number;
  manifest: ManifestLimits;
}

export const DEFAULT_PARSE_COST_LIMITS: Readonly<ParseCostLimits> = {
  timeoutMs: PARSE_TIMEOUT_MS,
  maxHeapMb: PARSE_MAX_HEAP_MB,
  manifest: DEFAULT_MANIFEST_LIMITS,
};

interface Job {
  request: ParseRequest;
  resolve(resources: Resource[]): void;
  reject(err: L4meshError): void;
}

/** The worker script beside this file: .js when compiled, .ts when run from source under tsx. */
function workerUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./manifest-parse-worker${ext}`, import.meta.url);
}

export class ManifestParser {
  readonly limits: ParseCostLimits;
  #worker: Worker | undefined;
  #current: Job | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #queue: Job[] = [];
  #nextId = 1;
  #workerReady = false;

  constructor(limits: Partial<ParseCostLimits> = {}) {
    this.limits = { ...DEFAULT_PARSE_COST_LIMITS, ...limits };
  }

  /** Parses and validates a multi-document body (for /apply and /delete); all or nothing. Takes `body` over (it may be detached). */
  parseManifests(body: Uint8Array): Promise<Resource[]> {
    return this.#enqueue(body, undefined);
  }

  /** Parses a PUT body: one object agreeing with the URL's kind, namespace and name. Takes `body` over. */
  async parseObject(body: Uint8Array, target: PutTarget): Promise<Resource> {
    const [resource] = await this.#enqueue(body, target);
    return resource!;
  }

  /** Stops the worker; parses waiting or running are refused. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    for (const job of this.#queue.splice(0)) job.reject(internal('the control plane is shutting down'));
    this.#finish((job) => job.reject(internal('the control plane is shutting down')));
    if (worker) await worker.terminate();
  }

  #enqueue(body: Uint8Array, put: PutTarget | undefined): Promise<Resource[]> {
    return new Promise((resolve, reject) => {
      const request: ParseRequest = { id: this.#nextId++, body, limits: this.limits.manifest, ...(put ? { put } : {}) };
      this.#queue.push({ request, resolve, reject });
      this.#startNext();
    });
  }

  #startNext(): void {
    if (this.#current) return;
    const job = this.#queue.shift();
    if (!job) {
      this.#worker?.unref(); // an idle worker never keeps the process alive
      return;
    }
    this.#current = job;
    const worker = this.#ensureWorker();
    worker.ref();
    // The clock starts once the worker has loaded its code: a slow start is not the body's fault.
    if (this.#workerReady) this.#startClock();
    const body = job.request.body;
    // Moving the bytes costs nothing; cloning 16 MiB held this loop ~0.5 s. Only a buffer that is the
    // body's alone can move (small Buffers share Node's pool), so a shared one is copied first (< 4 KiB).
    const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : new Uint8Array(body);
    try {
      worker.postMessage({ ...job.request, body: owned }, [owned.buffer as ArrayBuffer]);
    } catch (err) {
      this.#finish((j) => j.reject(internal(`cannot hand the body to the parse worker: ${(err as Error).message}`)));
      this.#startNext();
    }
  }

  #startClock(): void {
    this.#timer = setTimeout(() => this.#replaceWorker(timedOut(this.limits.timeoutMs)), this.limits.timeoutMs);
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(workerUrl(), { resourceLimits: { maxOldGenerationSizeMb: this.limits.maxHeapMb } });
    this.#workerReady = false;
    worker.on('message', (reply: ParseReply | typeof WORKER_READY) => {
      if (this.#worker !== worker) return;
      if (reply === WORKER_READY) {
        this.#workerReady = true;
        if (this.#current) this.#startClock();
        return;
      }
      if (reply.id !== this.#current?.request.id) return;
      this.#finish((job) => (reply.error ? job.reject(fromWorker(reply.error)) : job.resolve(reply.resources)));
      this.#startNext();
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (this.#worker !== worker) return;
      this.#replaceWorker(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? outOfMemory(this.limits.maxHeapMb) : internal(`the parse worker failed: ${err.message}`));
    });
    worker.on('exit', (code) => {
      if (this.#worker !== worker) return;
      this.#replaceWorker(internal(`the parse worker exited with code ${code}`));
    });
    this.#worker = worker;
    return worker;
  }

  /** Refuses the running parse with `err`, drops its worker (a fresh one serves the next body). */
  #replaceWorker(err: L4meshError): void {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) void worker.terminate();
    this.#finish((job) => job.reject(err));
    this.#startNext();
  }

  #finish(settle: (job: Job) => void): void {
    clearTimeout(this.#timer);
    const job = this.#current;
    this.#current = undefined;
    if (job) settle(job);
  }
}

function fromWorker(e: { code: L4meshError['code']; message: string; status?: number; path?: string }): L4meshError {
  return new ResourceApiError(e.status ?? statusOf(e.code), e.code, e.message, e.path ? { path: e.path } : {});
}

function timedOut(ms: number): L4meshError {
  return new ResourceApiError(
    413,
    'L4MESH_ERR_PARSE_TIMEOUT',
    `parsing the request body took longer than ${ms} ms, the most one request may take; split the manifests into several applies`,
  );
}

function outOfMemory(mb: number): L4meshError {
  return new ResourceApiError(
    413,
    'L4MESH_ERR_PARSE_MEMORY',
    `parsing the request body needed more than ${mb} MiB of memory, the most one request may use; split the manifests into several applies`,
  );
}

function internal(message: string): L4meshError {
  return new ResourceApiError(500, 'L4MESH_ERR_INTERNAL', `internal error in the control plane's resource API: ${message}; check the control plane's log`);
}
