// Exponential reconnect backoff for the xDS client: doubles from initialMs up to maxMs, and starts
// over once the control plane has answered (a healthy stream that later drops retries fast).

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** ztunnel's numbers: retry almost at once, but never hammer a control plane that is down. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 10, maxMs: 15_000 };

export class Backoff {
  private nextMs: number;

  constructor(private readonly options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError(`xDS backoff: need 0 < initialMs <= maxMs, got initialMs=${options.initialMs} maxMs=${options.maxMs}`);
    }
    this.nextMs = options.initialMs;
  }

  /** The delay before the next attempt; each call doubles the following one. */
  next(): number {
    const delay = this.nextMs;
    this.nextMs = Math.min(this.nextMs * 2, this.options.maxMs);
    return delay;
  }

  reset(): void {
    this.nextMs = this.options.initialMs;
  }
}
