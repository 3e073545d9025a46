// Keeps the waypoint's VirtualServices and DestinationRules current: polls the control plane's
// GET /proxy/v1/routes?namespace=NS (node-token auth) with If-None-Match, so an unchanged config costs a 304.
import { EventEmitter } from 'node:events';
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
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(POLL_TIMEOUT_MS) });
    if (res.status === 304) {
      await res.arrayBuffer();
      return false;
    }
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as RouteResources;
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
