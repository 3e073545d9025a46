// The control plane's xDS metrics, under Istio's names so existing pilot dashboards work.
import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../api/mesh.js';

// Istio's pilot_xds_push_time buckets: pushes are expected to take milliseconds to seconds.
const PUSH_TIME_BUCKETS = [0.01, 0.1, 1, 3, 5, 10, 20, 30];

export interface XdsMetrics {
  connected: Gauge;
  pushes: Counter<'type'>;
  pushTime: Histogram<'type'>;
  rejects: Counter<'type'>;
}

/** The short `type` label value of a type URL (`address`, `authorization`). */
export function metricType(typeUrl: string): string {
  if (typeUrl === ADDRESS_TYPE_URL) return 'address';
  if (typeUrl === AUTHORIZATION_TYPE_URL) return 'authorization';
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1).toLowerCase();
}

function reuse<T extends Metric>(registry: Registry, name: string, create: () => T): T {
  // Two servers sharing a registry (tests, restarts in-process) must not register twice.
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function createXdsMetrics(registry: Registry = new Registry()): XdsMetrics {
  const registers = [registry];
  return {
    connected: reuse(registry, 'pilot_xds', () => new Gauge({ name: 'pilot_xds', help: 'Number of proxies connected to this control plane using xDS.', registers })),
    pushes: reuse(registry, 'pilot_xds_pushes', () => new Counter({ name: 'pilot_xds_pushes', help: 'xDS responses sent, by resource type.', labelNames: ['type'], registers })),
    pushTime: reuse(
      registry,
      'pilot_xds_push_time',
      () => new Histogram({ name: 'pilot_xds_push_time', help: 'Seconds from a mesh change (or request) to the xDS response being written.', labelNames: ['type'], buckets: PUSH_TIME_BUCKETS, registers }),
    ),
    rejects: reuse(registry, 'pilot_total_xds_rejects', () => new Counter({ name: 'pilot_total_xds_rejects', help: 'xDS responses NACKed by proxies, by resource type.', labelNames: ['type'], registers })),
  };
}
