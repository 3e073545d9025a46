// Counts connections into the istio_tcp_* metrics: opened/closed/failed as they happen, bytes as deltas of
// plain per-connection counters flushed every reporting interval by one timer, so the copy loop never
// touches a metric.
import type { TcpLabelValues } from './labels.js';
import type { TcpMetrics, TcpSeriesBinding } from './metrics.js';
import { EMPTY_METRICS_POLICY, type MetricsPolicy } from './telemetry-policy.js';
import { L4meshError } from '../../errors/index.js';

/**
 * Istio's `tcpReportingDuration` default (the seed documents say 15 s): frequent enough that a long-lived
 * connection shows up in a 15–30 s scrape, rare enough that thousands of connections cost little.
 */
export const DEFAULT_TCP_REPORTING_DURATION_MS = 15_000;

/** The byte counts the splice adds to: received = client→server, sent = server→client (DESIGN §6). */
export interface ConnectionStats {
  received: number;
  sent: number;
}

export interface TrackedConnection {
  readonly labels: TcpLabelValues;
  readonly stats: ConnectionStats;
  /** What has already been added to the byte counters. */
  reportedReceived: number;
  reportedSent: number;
  closed: boolean;
  readonly binding: TcpSeriesBinding;
}

export interface ConnectionTrackerOptions {
  reportingIntervalMs?: number;
  /** Policy for open()/fail() calls that do not pass their own. */
  policy?: MetricsPolicy;
}

function checkInterval(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `TCP reporting interval must be a positive number of milliseconds, got ${ms}; check tcpReportingDuration / Telemetry reportingInterval`);
  }
  return ms;
}

export class ConnectionTracker {
  private readonly open_ = new Set<TrackedConnection>();
  private intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly defaultPolicy: MetricsPolicy;

  constructor(
    private readonly metrics: TcpMetrics,
    options: ConnectionTrackerOptions = {},
  ) {
    this.intervalMs = checkInterval(options.reportingIntervalMs ?? DEFAULT_TCP_REPORTING_DURATION_MS);
    this.defaultPolicy = options.policy ?? EMPTY_METRICS_POLICY;
    this.startTimer();
  }

  get reportingIntervalMs(): number {
    return this.intervalMs;
  }

  get openConnections(): number {
    return this.open_.size;
  }

  /** Counts an established connection; the caller keeps adding to `stats`. */
  open(labels: TcpLabelValues, stats: ConnectionStats, policy: MetricsPolicy = this.defaultPolicy): TrackedConnection {
    const binding = this.metrics.bind(labels, policy);
    binding.add('opened', 1);
    const conn: TrackedConnection = { labels, stats, reportedReceived: 0, reportedSent: 0, closed: false, binding };
    this.open_.add(conn);
    return conn;
  }

  /**
   * `close(conn)` flushes the connection's last bytes and counts it closed, with the labels it was opened
   * with. `close()` without a connection stops the tracker: flushes every open connection and stops the timer.
   */
  close(conn?: TrackedConnection): void {
    if (conn === undefined) {
      this.stop();
      return;
    }
    if (conn.closed) return;
    conn.closed = true;
    this.flushOne(conn);
    conn.binding.add('closed', 1);
    conn.binding.release();
    this.open_.delete(conn);
  }

  /** Counts a connection that failed before it was established; `labels.response_flags` says why. */
  fail(labels: TcpLabelValues, policy: MetricsPolicy = this.defaultPolicy): void {
    const binding = this.metrics.bind(labels, policy);
    binding.add('failed', 1);
    binding.release();
  }

  /** Changes the interval at once: the running timer is replaced, open connections are kept. */
  setReportingInterval(ms: number): void {
    this.intervalMs = checkInterval(ms);
    if (!this.stopped) this.startTimer();
  }

  /** Adds every open connection's new bytes to the counters now (tests, shutdown, before a final scrape). */
  flushNow(): void {
    for (const conn of this.open_) this.flushOne(conn);
  }

  private flushOne(conn: TrackedConnection): void {
    const { received, sent } = conn.stats;
    if (received > conn.reportedReceived) {
      conn.binding.add('received', received - conn.reportedReceived);
      conn.reportedReceived = received;
    }
    if (sent > conn.reportedSent) {
      conn.binding.add('sent', sent - conn.reportedSent);
      conn.reportedSent = sent;
    }
  }

  private startTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => this.flushNow(), this.intervalMs);
    // Reporting must never keep a proxy process alive on its own.
    this.timer.unref();
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flushNow();
  }
}
