// Label and annotation names the registry reads, label selectors, and the telemetry label subset.

/** Istio's ambient labels (on Services, Namespaces and workloads). */
export const LABEL_USE_WAYPOINT = 'istio.io/use-waypoint';
export const LABEL_USE_WAYPOINT_NAMESPACE = 'istio.io/use-waypoint-namespace';
export const LABEL_DATAPLANE_MODE = 'istio.io/dataplane-mode';
export const LABEL_GATEWAY_MANAGED = 'gateway.istio.io/managed';
export const LABEL_SIDECAR_INJECT = 'sidecar.istio.io/inject';
export const LABEL_CANONICAL_NAME = 'service.istio.io/canonical-name';
export const LABEL_CANONICAL_REVISION = 'service.istio.io/canonical-revision';

/** l4mesh's own annotations, written by the local runtime on the Pods it starts. */
export const ANNOTATION_WORKLOAD_KIND = 'l4mesh.io/workload-kind';
export const ANNOTATION_WORKLOAD_NAME = 'l4mesh.io/workload-name';
export const ANNOTATION_NODE = 'l4mesh.io/node';
/** netns mode: the pod's network namespace (DESIGN §2); its presence marks a pod of a netns-mode mesh. */
export const ANNOTATION_NETNS = 'l4mesh.io/netns';
/** What istio-cni writes on a pod whose traffic it redirected to ztunnel; istiod makes such pods HBONE. */
export const ANNOTATION_AMBIENT_REDIRECTION = 'ambient.istio.io/redirection';
export const AMBIENT_REDIRECTION_ENABLED = 'enabled';

/** The value of `istio.io/use-waypoint` on a Service that opts out of its namespace's waypoint. */
export const WAYPOINT_NONE = 'none';

/** Labels telemetry reports for a workload (`*_app`, `*_version`, canonical service/revision). */
export const TELEMETRY_LABELS: readonly string[] = [
  'app',
  'version',
  LABEL_CANONICAL_NAME,
  LABEL_CANONICAL_REVISION,
  'app.kubernetes.io/name',
  'app.kubernetes.io/version',
];

export type Labels = Record<string, string>;

/** Kubernetes matchLabels semantics: every selector label present with the same value. An empty selector matches everything. */
export function selectorMatches(selector: Labels, labels: Labels): boolean {
  for (const [k, v] of Object.entries(selector)) {
    if (labels[k] !== v) return false;
  }
  return true;
}

/** The subset of `labels` that the Workload's `labels` field carries, in TELEMETRY_LABELS order. */
export function telemetryLabels(labels: Labels): Labels {
  const out: Labels = {};
  for (const k of TELEMETRY_LABELS) {
    const v = labels[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Reads a `Record<string,string>` field defensively: stored resources are validated, but not by us. */
export function stringMap(value: unknown): Labels {
  const out: Labels = {};
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v === 'string') out[k] = v;
    }
  }
  return out;
}
