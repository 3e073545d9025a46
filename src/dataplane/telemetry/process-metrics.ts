// Process metrics of a proxy (CPU, memory, heap, event loop lag, file descriptors) via prom-client's
// defaults, computed at most once per PROCESS_METRICS_MAX_AGE_MS whatever the scrape rate.
import { collectDefaultMetrics, Registry, type Metric, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/**
 * Event loop delay sampling resolution in ms: prom-client's default; fine enough to see the multi-ms
 * stalls that hurt forwarding, cheap enough to leave on.
 */
export const EVENT_LOOP_MONITORING_PRECISION_MS = 10;

/**
 * Process gauges move slowly, but computing them is the expensive part of a scrape (event-loop-delay
 * percentiles, /proc reads, a readdir of /proc/self/fd that grows with open connections): ~4 ms of the
 * proxy's event loop each time in the scrape benchmark. Reusing one computation for a second keeps frequent
 * scrapes from taking that time away from forwarding.
 */
export const PROCESS_METRICS_MAX_AGE_MS = 1_000;

const registered = new WeakSet<Registry>();

/**
 * Registers process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds,
 * nodejs_eventloop_lag_seconds, nodejs_heap_size_used_bytes and the rest of prom-client's defaults.
 * Idempotent per registry, since registering the same names twice throws.
 */
export function registerProcessMetrics(registry: Registry, now: () => number = Date.now): void {
  if (registered.has(registry)) return;
  registered.add(registry);
  const source = new Registry();
  collectDefaultMetrics({ register: source, eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_PRECISION_MS });
  let cached: { at: number; byName: Promise<Map<string, MetricObjectWithValues<MetricValue<string>>>> } | undefined;
  const snapshot = () => {
    if (!cached || now() - cached.at >= PROCESS_METRICS_MAX_AGE_MS) {
      cached = { at: now(), byName: source.getMetricsAsJSON().then((all) => new Map(all.map((m) => [m.name, m as MetricObjectWithValues<MetricValue<string>>]))) };
    }
    return cached.byName;
  };
  for (const metric of source.getMetricsAsArray()) {
    const { name, help, type, aggregator } = metric as unknown as { name: string; help: string; type: string; aggregator: string };
    // A stand-in the target registry renders like any metric; its values come from the shared snapshot.
    registry.registerMetric({
      name,
      help,
      type,
      aggregator,
      get: async () => (await snapshot()).get(name)!,
      reset: () => {},
    } as unknown as Metric<string>);
  }
}
