// Exponential retry delays for calls to the control plane (CA, xDS): quick first retries, bounded waits later.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** 10 ms doubling to 15 s (DESIGN.md §4): a blip recovers at once, an outage costs one call per 15 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 10, maxMs: 15_000 };

export class ExponentialBackoff {
  readonly #options: BackoffOptions;
  #attempt = 0;

  constructor(options: BackoffOptions = DEFAULT_BACKOFF) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError(`backoff needs 0 < initialMs <= maxMs, got initialMs=${options.initialMs} maxMs=${options.maxMs}`);
    }
    this.#options = options;
  }

  /** The delay before the next attempt: initialMs, then doubled each call, capped at maxMs. */
  next(): number {
    // Cap the exponent so the doubling never overflows to Infinity however long the outage lasts.
    const delay = this.#options.initialMs * 2 ** Math.min(this.#attempt, 40);
    this.#attempt++;
    return Math.min(delay, this.#options.maxMs);
  }

  /** After a success: the next failure starts again from initialMs. */
  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}
