// Telemetry API (telemetry.istio.io) metrics overrides: which Telemetry objects apply to a workload,
// how their overrides merge, and what each istio_tcp_* series looks like after them.
import type { Resource } from '../../api/types.js';
import { MESH_ROOT_NAMESPACE } from '../../api/mesh.js';
import { L4meshError } from '../../errors/index.js';
import { TCP_METRICS } from './labels.js';

export type WorkloadMode = 'CLIENT' | 'SERVER';
export type TagOverride = { remove: true } | { value: string };

export interface MetricsPolicy {
  /** Set when a Telemetry `reportingInterval` applies; the proxy default otherwise. */
  reportingIntervalMs?: number;
  /** Prometheus metric names that must not be reported. */
  disabled: Set<string>;
  /** Per metric name: label → what to do with it. */
  tagOverrides: Map<string, Map<string, TagOverride>>;
}

/** The policy when no Telemetry applies: report everything with the standard labels. */
export const EMPTY_METRICS_POLICY: MetricsPolicy = Object.freeze({
  disabled: new Set<string>(),
  tagOverrides: new Map<string, Map<string, TagOverride>>(),
});

/** Istio's MetricSelector.IstioMetric values mapped to the Prometheus names l4mesh reports. */
export const ISTIO_METRIC_NAMES: Readonly<Record<string, string>> = {
  TCP_OPENED_CONNECTIONS: TCP_METRICS.opened,
  TCP_CLOSED_CONNECTIONS: TCP_METRICS.closed,
  TCP_SENT_BYTES: TCP_METRICS.sent,
  TCP_RECEIVED_BYTES: TCP_METRICS.received,
  REQUEST_COUNT: 'istio_requests_total',
  REQUEST_DURATION: 'istio_request_duration_milliseconds',
  REQUEST_SIZE: 'istio_request_bytes',
  RESPONSE_SIZE: 'istio_response_bytes',
};

/** ALL_METRICS also covers istio_tcp_connections_failed_total, which has no IstioMetric value of its own. */
const ALL_METRIC_NAMES: readonly string[] = [...Object.values(ISTIO_METRIC_NAMES), TCP_METRICS.failed];

/** The only provider l4mesh implements; metrics entries naming only other providers are ignored. */
const PROMETHEUS_PROVIDER = 'prometheus';

interface TelemetryMetricsSpec {
  providers?: Array<{ name?: string }>;
  overrides?: Array<{
    match?: { metric?: string; customMetric?: string; mode?: string };
    disabled?: boolean;
    tagOverrides?: Record<string, { operation?: string; value?: string }>;
  }>;
  reportingInterval?: string;
}

interface TelemetrySpec {
  selector?: { matchLabels?: Record<string, string> };
  metrics?: TelemetryMetricsSpec[];
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a protobuf/Go duration such as `5s`, `0.5s`, `100ms`, `1m30s` into milliseconds. */
export function parseDuration(text: string): number {
  const whole = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
  if (!whole.test(text)) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `invalid duration "${text}": expected a number with a unit (ns, us, ms, s, m, h), e.g. "15s" or "100ms"`);
  }
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
  return ms;
}

function specOf(t: Resource): TelemetrySpec {
  return (t.spec ?? {}) as TelemetrySpec;
}

function selectorLabels(t: Resource): Record<string, string> {
  return specOf(t).selector?.matchLabels ?? {};
}

/** Istio orders Telemetry objects by creation time, then name, then namespace; the first match wins. */
function byCreation(a: Resource, b: Resource): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  const na = a.metadata.namespace ?? '';
  const nb = b.metadata.namespace ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/**
 * The Telemetry objects that apply to a workload, least specific first: the first namespace-wide one in the
 * root namespace, then the first namespace-wide one in the workload's namespace, then the first one in the
 * workload's namespace whose selector matches (as istio/istio pilot/pkg/model/telemetry.go does).
 */
export function applicableTelemetries(
  telemetries: readonly Resource[],
  workload: { namespace: string; labels: Record<string, string> },
  rootNamespace: string = MESH_ROOT_NAMESPACE,
): Resource[] {
  const sorted = telemetries.filter((t) => t.kind === 'Telemetry').sort(byCreation);
  const namespaceWide = (ns: string) =>
    sorted.find((t) => (t.metadata.namespace ?? '') === ns && Object.keys(selectorLabels(t)).length === 0);
  const out: Resource[] = [];
  const root = namespaceWide(rootNamespace);
  if (root) out.push(root);
  if (workload.namespace !== rootNamespace) {
    const ns = namespaceWide(workload.namespace);
    if (ns) out.push(ns);
  }
  const selected = sorted.find((t) => {
    const sel = selectorLabels(t);
    const keys = Object.keys(sel);
    return (t.metadata.namespace ?? '') === workload.namespace && keys.length > 0 && keys.every((k) => workload.labels[k] === sel[k]);
  });
  if (selected) out.push(selected);
  return out;
}

function appliesToPrometheus(m: TelemetryMetricsSpec): boolean {
  const names = (m.providers ?? []).map((p) => p.name ?? '');
  return names.length === 0 || names.some((n) => n.toLowerCase() === PROMETHEUS_PROVIDER);
}

function metricNamesOf(match: { metric?: string; customMetric?: string } | undefined): readonly string[] {
  // Custom metrics are out of scope: l4mesh only reports Istio's standard metrics.
  if (match?.customMetric) return [];
  const metric = match?.metric ?? 'ALL_METRICS';
  if (metric === 'ALL_METRICS') return ALL_METRIC_NAMES;
  const name = ISTIO_METRIC_NAMES[metric];
  return name ? [name] : [];
}

/**
 * Merges the applicable Telemetry metrics config for one workload and one direction (CLIENT = the
 * reporter="source" side, SERVER = reporter="destination"). As in Istio, overrides are applied in order —
 * root namespace, namespace, workload, and within an object in list order — so a more specific level
 * wins per metric and per tag while untouched tags/metrics keep what a wider level said (a deep merge).
 * Istio's quirk is kept: ALL_METRICS `disabled: true` disables everything, and any later override that
 * is not itself an ALL_METRICS disable re-enables reporting. Unlike istiod (which applies an ALL_METRICS
 * disable to both modes whatever its `mode`), the disable only counts for the mode it matches.
 * The last `reportingInterval` set wins.
 * Tag values are used as literal strings; Istio evaluates them as CEL expressions, which l4mesh does not.
 */
export function resolveMetricsPolicy(
  telemetries: readonly Resource[],
  workload: { namespace: string; labels: Record<string, string> },
  mode: WorkloadMode,
  rootNamespace: string = MESH_ROOT_NAMESPACE,
): MetricsPolicy {
  const policy: MetricsPolicy = { disabled: new Set(), tagOverrides: new Map() };
  const disabledFlags = new Map<string, boolean>();
  let allDisabled = false;
  for (const t of applicableTelemetries(telemetries, workload, rootNamespace)) {
    const where = `Telemetry ${t.metadata.namespace ?? ''}/${t.metadata.name}`;
    (specOf(t).metrics ?? []).forEach((m, i) => {
      if (!appliesToPrometheus(m)) return;
      if (m.reportingInterval !== undefined) {
        try {
          policy.reportingIntervalMs = parseDuration(m.reportingInterval);
        } catch (err) {
          throw new L4meshError('L4MESH_ERR_INVALID_RESOURCE', `${where}: spec.metrics[${i}].reportingInterval: ${(err as Error).message}`);
        }
      }
      for (const o of m.overrides ?? []) {
        const matchMode = o.match?.mode ?? 'CLIENT_AND_SERVER';
        if (matchMode !== 'CLIENT_AND_SERVER' && matchMode !== mode) continue;
        const isAll = !o.match?.customMetric && (o.match?.metric ?? 'ALL_METRICS') === 'ALL_METRICS';
        if (isAll && o.disabled === true) {
          allDisabled = true;
          continue;
        }
        allDisabled = false;
        for (const name of metricNamesOf(o.match)) {
          if (o.disabled !== undefined) disabledFlags.set(name, o.disabled);
          for (const [tag, v] of Object.entries(o.tagOverrides ?? {})) {
            let tags = policy.tagOverrides.get(name);
            if (!tags) policy.tagOverrides.set(name, (tags = new Map()));
            tags.set(tag, v.operation === 'REMOVE' ? { remove: true } : { value: v.value ?? '' });
          }
        }
      }
    });
  }
  for (const [name, off] of disabledFlags) if (off) policy.disabled.add(name);
  if (allDisabled) for (const name of ALL_METRIC_NAMES) policy.disabled.add(name);
  return policy;
}

/**
 * The labels one metric's series carries after the policy: REMOVEd labels are dropped, UPSERTed labels
 * replace the value in place, and new labels are appended in name order (Istio sorts tag overrides by name).
 * Returns the input object itself when the metric has no overrides, so callers can share it.
 */
export function applyPolicy<L extends Record<string, string>>(labels: L, metric: string, policy: MetricsPolicy): Record<string, string> {
  const tags = policy.tagOverrides.get(metric);
  if (!tags || tags.size === 0) return labels;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) {
    const o = tags.get(name);
    if (!o) out[name] = value;
    else if (!('remove' in o)) out[name] = o.value;
  }
  for (const name of [...tags.keys()].sort()) {
    const o = tags.get(name)!;
    if (!(name in labels) && !('remove' in o)) out[name] = o.value;
  }
  return out;
}
