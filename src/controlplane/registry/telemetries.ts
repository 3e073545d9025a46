// Telemetry resources (telemetry.istio.io) as the mesh model's MeshTelemetry: the metrics part only,
// which node proxies resolve per workload (src/dataplane/telemetry/telemetry-policy.ts).
import type { Resource } from '../../api/types.js';
import { telemetryResourceName, type MeshMetricsOverride, type MeshTelemetry, type MeshTelemetryMetrics } from '../../api/mesh.js';

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) if (typeof x === 'string') out[k] = x;
  return out;
}

function override(o: Obj): MeshMetricsOverride {
  const out: MeshMetricsOverride = { tagOverrides: {} };
  const match = o['match'];
  if (match && typeof match === 'object') {
    const m = obj(match);
    const sel: NonNullable<MeshMetricsOverride['match']> = {};
    if (str(m['metric'])) sel.metric = str(m['metric']);
    if (str(m['customMetric'])) sel.customMetric = str(m['customMetric']);
    if (str(m['mode'])) sel.mode = str(m['mode']);
    out.match = sel;
  }
  if (typeof o['disabled'] === 'boolean') out.disabled = o['disabled'];
  for (const [tag, t] of Object.entries(obj(o['tagOverrides'])).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const tt = obj(t);
    const entry: MeshMetricsOverride['tagOverrides'][string] = {};
    const op = str(tt['operation']);
    if (op === 'UPSERT' || op === 'REMOVE') entry.operation = op;
    if (str(tt['value']) !== undefined) entry.value = str(tt['value']);
    out.tagOverrides[tag] = entry;
  }
  return out;
}

/** The store has validated the spec (src/api/schema/telemetry.ts); this only reshapes it. */
export function convertTelemetry(r: Resource): MeshTelemetry {
  const spec = obj(r.spec);
  return {
    name: r.metadata.name,
    namespace: r.metadata.namespace ?? 'default',
    creationTimestamp: r.metadata.creationTimestamp ?? '',
    selector: stringRecord(obj(spec['selector'])['matchLabels']),
    metrics: list(spec['metrics']).map((m): MeshTelemetryMetrics => {
      const mm = obj(m);
      const out: MeshTelemetryMetrics = {
        providers: list(mm['providers']).map((p) => str(obj(p)['name']) ?? '').filter((n) => n !== ''),
        overrides: list(mm['overrides']).map((o) => override(obj(o))),
      };
      const interval = str(mm['reportingInterval']);
      if (interval) out.reportingInterval = interval;
      return out;
    }),
  };
}

export function convertTelemetries(resources: readonly Resource[]): Map<string, MeshTelemetry> {
  const out = new Map<string, MeshTelemetry>();
  for (const r of resources) {
    const t = convertTelemetry(r);
    out.set(telemetryResourceName(t), t);
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
