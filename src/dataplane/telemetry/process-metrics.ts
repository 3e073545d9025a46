// Process metrics of a proxy (CPU, memory, heap, event loop lag, file descriptors) via prom-client's defaults.
import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * Event loop delay sampling resolution in ms: prom-client's default; fine enough to see the multi-ms
 * stalls that hurt forwarding, cheap enough to leave on.
 */
export const EVENT_LOOP_MONITORING_PRECISION_MS = 10;

const registered = new WeakSet<Registry>();

/**
 * Registers process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds,
 * nodejs_eventloop_lag_seconds, nodejs_heap_size_used_bytes and the rest of prom-client's defaults.
 * Idempotent per registry, since registering the same names twice throws.
 */
export function registerProcessMetrics(registry: Registry): void {
  if (registered.has(registry)) return;
  registered.add(registry);
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_PRECISION_MS });
}
