// Per-connection byte counters: plain numbers the copy loop adds to, read by telemetry when it flushes.

export interface ConnectionStats {
  /** Bytes from the client side towards the server side (Istio's `received`). */
  received: number;
  /** Bytes from the server side back to the client (Istio's `sent`). */
  sent: number;
  /** `Date.now()` when the connection was established. */
  openedAt: number;
}

export function newConnectionStats(openedAt = Date.now()): ConnectionStats {
  return { received: 0, sent: 0, openedAt };
}
