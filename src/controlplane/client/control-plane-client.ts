// HTTP client of the control plane's HTTP resource API and debug endpoints, used by the CLI and the local runtime.
import { readFile } from 'node:fs/promises';
import { adminTokenPath } from '../../config/state-layout.js';
import { apiVersionOf, type KindInfo } from '../../api/kinds.js';
import type { ApplyResult, Resource } from '../../api/types.js';
import { L4meshError, type ErrorCode } from '../../errors/index.js';

/** A CLI call should fail fast on a hung control plane rather than hang the terminal. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export interface DeleteResult {
  kind: string;
  namespace: string;
  name: string;
  action: 'deleted' | 'notfound';
}

export class ControlPlaneError extends L4meshError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number,
  ) {
    super(code, message);
  }
}

export function objectPath(info: KindInfo, namespace: string | undefined, name?: string): string {
  const prefix = info.group ? `/apis/${apiVersionOf(info)}` : `/api/${info.version}`;
  const ns = info.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${prefix}${ns}/${info.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
}

export class ControlPlaneClient {
  /** Every replica's host:port; requests go to `address` and move on when it refuses connections. */
  readonly addresses: string[];
  private preferred = 0;

  constructor(
    /** host:port of the HTTP server, e.g. 127.0.0.1:<CONTROL_PLANE_HTTP_PORT>, or several comma-separated (replicas) */
    addresses: string,
    private readonly token: string,
    private readonly timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ) {
    this.addresses = addresses.split(',').map((a) => a.trim()).filter((a) => a !== '');
  }

  /** The replica requests go to now (the last one that answered). */
  get address(): string {
    return this.addresses[this.preferred] ?? '';
  }

  /** Reads `<stateDir>/admin.token`; a missing token means no control plane ever ran with this state dir. */
  static async open(stateDir: string, address: string): Promise<ControlPlaneClient> {
    let token: string;
    try {
      token = (await readFile(adminTokenPath(stateDir), 'utf8')).trim();
    } catch {
      throw new L4meshError('L4MESH_ERR_NO_CONTROL_PLANE', `no control plane at ${address} — run "l4mesh up" (no admin token in ${stateDir})`);
    }
    return new ControlPlaneClient(address, token);
  }

  async request(method: string, path: string, body?: string): Promise<{ status: number; json: unknown; text: string }> {
    let res: Response | undefined;
    let failure: unknown;
    for (let i = 0; i < this.addresses.length && !res; i++) {
      const index = (this.preferred + i) % this.addresses.length;
      try {
        res = await fetch(`http://${this.addresses[index]}${path}`, {
          method,
          headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/yaml' } : {}) },
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        this.preferred = index;
      } catch (err) {
        failure = err;
        // Only a replica that could not be reached is skipped: one that timed out may have applied the request.
        if ((err as Error).name === 'TimeoutError') break;
      }
    }
    if (!res) {
      throw new L4meshError('L4MESH_ERR_NO_CONTROL_PLANE', `no control plane at ${this.addresses.join(',')} — run "l4mesh up"`, { cause: failure });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  }

  private async call<T>(method: string, path: string, body?: string): Promise<T> {
    const r = await this.request(method, path, body);
    if (r.status >= 200 && r.status < 300) return r.json as T;
    const err = (r.json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ControlPlaneError((err?.code as ErrorCode) ?? 'L4MESH_ERR_BAD_REQUEST', err?.message ?? `${method} ${path}: HTTP ${r.status} ${r.text.slice(0, 200)}`, r.status);
  }

  /** Whether any replica answers /ready with 200. */
  async ready(): Promise<boolean> {
    for (const address of this.addresses) {
      try {
        const res = await fetch(`http://${address}/ready`, { signal: AbortSignal.timeout(2_000) });
        await res.text();
        if (res.status === 200) return true;
      } catch {
        // the next replica may answer
      }
    }
    return false;
  }

  async apply(yaml: string): Promise<ApplyResult[]> {
    return (await this.call<{ results: ApplyResult[] }>('POST', '/apply', yaml)).results;
  }

  async deleteManifests(yaml: string): Promise<DeleteResult[]> {
    return (await this.call<{ results: DeleteResult[] }>('POST', '/delete', yaml)).results;
  }

  /** namespace undefined: every namespace. */
  async list(info: KindInfo, namespace: string | undefined, labelSelector?: string): Promise<Resource[]> {
    const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    return (await this.call<{ items: Resource[] }>('GET', objectPath(info, namespace) + q)).items;
  }

  /** A list with the resourceVersion a watch can start after. */
  async listWithVersion(info: KindInfo, namespace: string | undefined, labelSelector?: string): Promise<{ items: Resource[]; resourceVersion: string }> {
    const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    const list = await this.call<{ items: Resource[]; metadata: { resourceVersion: string } }>('GET', objectPath(info, namespace) + q);
    return { items: list.items, resourceVersion: list.metadata.resourceVersion };
  }

  /** The admin token, for a watch stream opened beside this client. */
  get adminToken(): string {
    return this.token;
  }

  /** undefined when not found. */
  async get(info: KindInfo, namespace: string, name: string): Promise<Resource | undefined> {
    try {
      return await this.call<Resource>('GET', objectPath(info, namespace, name));
    } catch (err) {
      if (err instanceof ControlPlaneError && err.status === 404) return undefined;
      throw err;
    }
  }

  async put(info: KindInfo, resource: Resource): Promise<Resource> {
    // Last writer wins, as this client's callers (the local runtime's status writers) expect: without the
    // resourceVersion the server checks no precondition, so a copy read a moment ago is never refused as stale.
    const { resourceVersion: _stale, ...metadata } = resource.metadata;
    const body = JSON.stringify({ ...resource, metadata });
    return this.call<Resource>('PUT', objectPath(info, resource.metadata.namespace ?? '', resource.metadata.name), body);
  }

  /** false when it was not there. */
  async delete(info: KindInfo, namespace: string, name: string): Promise<boolean> {
    try {
      await this.call<Resource>('DELETE', objectPath(info, namespace, name));
      return true;
    } catch (err) {
      if (err instanceof ControlPlaneError && err.status === 404) return false;
      throw err;
    }
  }

  /** GET of an unauthenticated debug endpoint, e.g. /debug/registryz. */
  async debug<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /** A debug endpoint of every replica that answers, with the replica's address (each knows only its own streams). */
  async debugEach<T>(path: string): Promise<Array<{ address: string; body: T }>> {
    const out: Array<{ address: string; body: T }> = [];
    for (const address of this.addresses) {
      try {
        const res = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(this.timeoutMs) });
        if (res.status === 200) out.push({ address, body: (await res.json()) as T });
      } catch {
        // a replica that is down has no streams to show
      }
    }
    if (out.length === 0) throw new L4meshError('L4MESH_ERR_NO_CONTROL_PLANE', `no control plane at ${this.addresses.join(',')} — run "l4mesh up"`);
    return out;
  }
}
