// Outlier detection for outbound connects (Envoy's consecutive-connect-failure ejection): a destination
// (an endpoint, or the node proxy in front of it) whose connect failed is skipped for a backoff period.

/**
 * Failures in a row that eject. Envoy's default is 5 gateway errors, but there every failed request is
 * lost; here a failed connect is retried on another endpoint at once, so ejecting on the first refusal
 * costs nothing but a preference, and waiting for five would send five connections through a retry.
 */
export const OUTLIER_CONSECUTIVE_FAILURES = 1;
/** The first ejection: long enough that a steady stream of connections stops trying a dead node proxy. */
export const OUTLIER_BASE_EJECTION_MS = 1_000;
/**
 * Ejections in a row double up to this. The local runtime restarts a dead node proxy within its own
 * 1 s → 10 s backoff, so a proxy that came back is tried again within about one restart delay.
 */
export const OUTLIER_MAX_EJECTION_MS = 10_000;
/** Destinations tracked at once; past this, ones whose ejection ran out are forgotten first. */
const MAX_TRACKED = 4_096;

interface Outlier {
  failures: number;
  /** Ejections in a row without a success in between: sets the next ejection's length. */
  ejections: number;
  ejectedUntil: number;
}

export interface OutlierDetectorOptions {
  consecutiveFailures?: number;
  baseEjectionMs?: number;
  maxEjectionMs?: number;
  now?: () => number;
}

/** What a failure did: ejected (for `forMs`) or only counted. */
export interface FailureOutcome {
  ejected: boolean;
  forMs: number;
}

export class OutlierDetector {
  private readonly outliers = new Map<string, Outlier>();
  private readonly consecutiveFailures: number;
  private readonly baseEjectionMs: number;
  private readonly maxEjectionMs: number;
  private readonly now: () => number;

  constructor(options: OutlierDetectorOptions = {}) {
    this.consecutiveFailures = options.consecutiveFailures ?? OUTLIER_CONSECUTIVE_FAILURES;
    this.baseEjectionMs = options.baseEjectionMs ?? OUTLIER_BASE_EJECTION_MS;
    this.maxEjectionMs = options.maxEjectionMs ?? OUTLIER_MAX_EJECTION_MS;
    this.now = options.now ?? Date.now;
  }

  /** True when nothing is tracked: the common case, where selection needs no filter at all. */
  get empty(): boolean {
    return this.outliers.size === 0;
  }

  isEjected(key: string): boolean {
    const o = this.outliers.get(key);
    return o !== undefined && o.ejectedUntil > this.now();
  }

  /** A connect to `key` failed. */
  failure(key: string): FailureOutcome {
    const now = this.now();
    let o = this.outliers.get(key);
    if (!o) {
      if (this.outliers.size >= MAX_TRACKED) this.forgetExpired(now);
      o = { failures: 0, ejections: 0, ejectedUntil: 0 };
      this.outliers.set(key, o);
    }
    // A failure during an ejection (a connection that had picked it before) does not extend it.
    if (o.ejectedUntil > now) return { ejected: true, forMs: o.ejectedUntil - now };
    o.failures++;
    if (o.failures < this.consecutiveFailures) return { ejected: false, forMs: 0 };
    const forMs = Math.min(this.baseEjectionMs * 2 ** o.ejections, this.maxEjectionMs);
    o.ejections++;
    o.failures = 0;
    o.ejectedUntil = now + forMs;
    return { ejected: true, forMs };
  }

  /** A connect to `key` succeeded: it is healthy again and its backoff starts over. */
  success(key: string): void {
    if (this.outliers.size > 0) this.outliers.delete(key);
  }

  private forgetExpired(now: number): void {
    for (const [key, o] of this.outliers) if (o.ejectedUntil <= now) this.outliers.delete(key);
    // Every entry still ejected: drop the oldest insertion so memory stays bounded.
    if (this.outliers.size >= MAX_TRACKED) this.outliers.delete(this.outliers.keys().next().value!);
  }
}
