// The connections a proxy has open right now, for `ztunnel-config connections` and draining.
import type { ConnectionStats } from '../telemetry/connection-tracker.js';

export interface OpenConnection {
  /** Pod name of the local workload. */
  workload: string;
  namespace: string;
  direction: 'inbound' | 'outbound';
  local: string;
  remote: string;
  /** Where the bytes finally go: the destination workload `ip:port` (outbound) or the workload itself (inbound). */
  remoteTarget: string;
  protocol: 'HBONE' | 'TCP';
  startedAt: number;
  stats: ConnectionStats;
}

export class ConnectionTable {
  private readonly open = new Set<OpenConnection>();
  private waiters: Array<() => void> = [];

  add(c: OpenConnection): void {
    this.open.add(c);
  }

  remove(c: OpenConnection): void {
    this.open.delete(c);
    if (this.open.size === 0) {
      for (const w of this.waiters) w();
      this.waiters = [];
    }
  }

  list(): OpenConnection[] {
    return [...this.open];
  }

  get size(): number {
    return this.open.size;
  }

  /** Resolves when no connection is open, or after `timeoutMs`; true when drained. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.open.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

/** The admin views of a proxy that captures traffic: open connections with their byte counts, and outbound listeners. */
export function captureAdminViews(connections: ConnectionTable, mappings: () => unknown): Record<string, () => unknown> {
  return {
    '/connections': () => connections.list().map(({ stats, ...c }) => ({ ...c, bytesReceived: stats.received, bytesSent: stats.sent })),
    '/capture': mappings,
  };
}
