// HTTP/2 PING with deadlines for one HBONE connection: tells a live connection from one whose peer or path
// stopped (a stopped proxy, a black-holed route) so that it is skipped, then destroyed, instead of hanging.
import { L4meshError } from '../../errors/index.js';
import { sendPing, type PingTarget } from './transport.js';
import { HBONE_PING_INTERVAL_MS, HBONE_PING_OVERDUE_MS, HBONE_PING_TIMEOUT_MS } from './settings.js';

export interface PingTiming {
  /** A connection with no answered PING for this long is pinged by `sweep()`. */
  intervalMs: number;
  /** An outstanding PING older than this makes the connection `overdue`. */
  overdueMs: number;
  /** An outstanding PING older than this makes the connection dead. */
  timeoutMs: number;
}

/** How often a sweep checks its connections: a fifth of the interval, so a PING goes out at most that late. */
export function sweepEveryMs(timing: PingTiming): number {
  return Math.max(100, Math.floor(timing.intervalMs / 5));
}

/**
 * The error a dead connection is destroyed with. Node resets the connection's streams with INTERNAL_ERROR
 * for it; destroyed without one, they would end as if their peer had finished cleanly.
 */
export function pingTimeoutError(where: string, timeoutMs: number): L4meshError {
  return new L4meshError('L4MESH_ERR_CONNECT_TIMEOUT', `HBONE connection with ${where} answered no HTTP/2 PING for ${timeoutMs} ms — the peer proxy or the path to it stopped`);
}

export const DEFAULT_PING_TIMING: PingTiming = {
  intervalMs: HBONE_PING_INTERVAL_MS,
  overdueMs: HBONE_PING_OVERDUE_MS,
  timeoutMs: HBONE_PING_TIMEOUT_MS,
};

export interface PingWatchEvents {
  /** The outstanding PING passed `overdueMs`. */
  onOverdue?(): void;
  /** The outstanding PING passed `timeoutMs`; the watch has stopped. */
  onDead(): void;
}

/** One PING at a time per connection, with two deadlines; timers exist only while a PING is outstanding. */
export class PingWatch {
  private sentAt = 0;
  private lastAnswerAt: number;
  private overdueTimer?: NodeJS.Timeout;
  private deadTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly session: PingTarget,
    private readonly timing: PingTiming,
    private readonly events: PingWatchEvents,
  ) {
    // The SETTINGS exchange that just completed is as good an answer as a PING.
    this.lastAnswerAt = Date.now();
  }

  /** True while a PING has been outstanding for longer than `overdueMs`. */
  get overdue(): boolean {
    return this.sentAt !== 0 && Date.now() - this.sentAt >= this.timing.overdueMs;
  }

  /** Pings unless a PING is outstanding or one was answered within `freshMs` (default: the interval). */
  check(freshMs = this.timing.intervalMs): void {
    if (this.stopped || this.sentAt !== 0 || Date.now() - this.lastAnswerAt < freshMs) return;
    if (this.session.destroyed || this.session.closed) return;
    const sentAt = Date.now();
    let sent: boolean;
    try {
      sent = sendPing(this.session, (err) => {
        if (err || this.sentAt !== sentAt) return; // cancelled with the session, or superseded
        this.sentAt = 0;
        this.lastAnswerAt = Date.now();
        this.clearTimers();
      });
    } catch {
      return; // the session is closing; its 'close' ends the watch
    }
    if (!sent) return;
    this.sentAt = sentAt;
    if (this.events.onOverdue) {
      this.overdueTimer = setTimeout(() => this.events.onOverdue?.(), this.timing.overdueMs);
      this.overdueTimer.unref();
    }
    this.deadTimer = setTimeout(() => {
      this.stop();
      this.events.onDead();
    }, this.timing.timeoutMs);
    this.deadTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
  }

  private clearTimers(): void {
    clearTimeout(this.overdueTimer);
    clearTimeout(this.deadTimer);
    this.overdueTimer = undefined;
    this.deadTimer = undefined;
  }
}
