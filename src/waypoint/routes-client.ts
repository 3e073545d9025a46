// Keeps the waypoint's VirtualServices and DestinationRules current: polls the control plane's
// GET /proxy/v1/routes?namespace=NS (node-token auth) with If-None-Match, so an unchanged config costs a 304.
import { EventEmitter } from 'node:events';
import { L4meshError, type ErrorCode } from '../errors/index.js';
import type { RouteResources } from './route-config.js';

/** A route change should apply within a second or two; a 304 every second costs next to nothing. */
export const DEFAULT_ROUTES_POLL_INTERVAL_MS = 1_000;
/** A poll that has not answered by then is abandoned and retried at the next tick. */
const POLL_TIMEOUT_MS = 5_000;

export interface RoutesClientOptions {
  /** `http://host:port` of the control plane's HTTP server (CONTROL_PLANE_HTTP_PORT). */
  baseUrl: string;
  namespace: string;
  token: string;
  intervalMs?: number;
}

/** Events: 'update'(RouteResources), 'error'(Error) — the last good config is kept on errors. */
export class RoutesClient extends EventEmitter {
  private etag?: string;
  private timer?: NodeJS.Timeout;
  private running = false;
  private synced = false;
  private lastError?: string;

  constructor(private readonly options: RoutesClientOptions) {
    super();
  }

  hasSynced(): boolean {
    return this.synced;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.tick();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** One poll; resolves true when a new config was emitted. Exposed for tests. */
  async poll(): Promise<boolean> {
    const url = `${this.options.baseUrl}/proxy/v1/routes?namespace=${encodeURIComponent(this.options.namespace)}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.token}` };
    if (this.etag) headers['if-none-match'] = this.etag;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(POLL_TIMEOUT_MS) });
      if (res.status === 304) {
        await res.arrayBuffer();
        return false;
      }
      text = await res.text();
    } catch (err) {
      const why = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new L4meshError('L4MESH_ERR_NO_CONTROL_PLANE', `GET ${url} failed (${why}); is the control plane running and reachable?`, { cause: err });
    }
    if (res.status !== 200) throw refusal(url, res.status, text);
    let body: RouteResources;
    try {
      body = JSON.parse(text) as RouteResources;
    } catch (err) {
      throw new L4meshError('L4MESH_ERR_PROTOCOL', `GET ${url} answered 200 with a body that is not JSON (${(err as Error).message}); is ${this.options.baseUrl} an l4mesh control plane?`, { cause: err });
    }
    this.etag = res.headers.get('etag') ?? undefined;
    this.synced = true;
    this.emit('update', { virtualServices: body.virtualServices ?? [], destinationRules: body.destinationRules ?? [] });
    return true;
  }

  private async tick(): Promise<void> {
    try {
      await this.poll();
      this.lastError = undefined;
    } catch (err) {
      const message = (err as Error).message;
      // Reported once per distinct failure, not every second while the control plane is away.
      if (message !== this.lastError) this.emit('error', err as Error);
      this.lastError = message;
    }
    if (this.running) {
      this.timer = setTimeout(() => void this.tick(), this.options.intervalMs ?? DEFAULT_ROUTES_POLL_INTERVAL_MS);
      this.timer.unref();
    }
  }
}

/** A non-200 answer: the control plane's own error code when its body carries one, else what the status means. */
function refusal(url: string, status: number, text: string): L4meshError {
  let answered: { code?: unknown; message?: unknown } | undefined;
  try {
    answered = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
  } catch {
    answered = undefined;
  }
  const known = typeof answered?.code === 'string' && answered.code.startsWith('L4MESH_ERR_');
  const code: ErrorCode = known ? (answered!.code as ErrorCode) : status === 401 ? 'L4MESH_ERR_UNAUTHENTICATED' : 'L4MESH_ERR_PROTOCOL';
  const detail = typeof answered?.message === 'string' ? answered.message : text.slice(0, 300);
  const hint = code === 'L4MESH_ERR_UNAUTHENTICATED' ? '; check the node token the waypoint was started with' : '';
  return new L4meshError(code, `GET ${url} answered ${status}: ${detail}${hint}`);
}
