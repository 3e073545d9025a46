// What analyze reads: every stored resource, with the workloads they describe (running Pods, WorkloadEntries,
// and the pod templates of Deployments that will run), and name lookups the analyzers share.
import { fqdn } from '../api/cross-check.js';
import type { Resource } from '../api/types.js';
import { MESH_ROOT_NAMESPACE } from '../api/mesh.js';
import { ANNOTATION_WORKLOAD_NAME, LABEL_DATAPLANE_MODE, selectorMatches, stringMap, type Labels } from '../api/labels.js';
import type { ResourceRef } from './messages.js';

/** A workload as analyze sees it: where it is, its labels, its identity and whether it is in the mesh. */
export interface AnalyzedWorkload {
  /** The resource that describes it: the Deployment for its pods, else the Pod or WorkloadEntry. */
  owner: ResourceRef;
  namespace: string;
  labels: Labels;
  serviceAccount: string;
  /** False when `istio.io/dataplane-mode: none` takes it out of the mesh. */
  enrolled: boolean;
}

export interface Snapshot {
  resources: readonly Resource[];
  workloads: readonly AnalyzedWorkload[];
  /** Service FQDN (`reviews.default.svc.cluster.local`) → its Service. */
  servicesByHost: ReadonlyMap<string, Resource>;
  /** Every host a ServiceEntry declares. */
  serviceEntryHosts: ReadonlySet<string>;
  /** Namespaces that exist: Namespace resources plus every namespace a resource is in. */
  namespaces: ReadonlySet<string>;
}

type Obj = Record<string, unknown>;
export const asObj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
export const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function refOf(r: Resource): ResourceRef {
  return { kind: r.kind, namespace: r.metadata.namespace ?? '', name: r.metadata.name };
}

export function namespaceOf(r: Resource): string {
  return r.metadata.namespace ?? 'default';
}

export function ofKind(s: Snapshot, kind: string): Resource[] {
  return s.resources.filter((r) => r.kind === kind);
}

function serviceAccountOf(podSpec: Obj): string {
  const sa = podSpec['serviceAccountName'] ?? podSpec['serviceAccount'];
  return typeof sa === 'string' && sa !== '' ? sa : 'default';
}

function workload(owner: Resource, labels: Labels, serviceAccount: string): AnalyzedWorkload {
  return { owner: refOf(owner), namespace: namespaceOf(owner), labels, serviceAccount, enrolled: labels[LABEL_DATAPLANE_MODE] !== 'none' };
}

/**
 * The workloads of the stored resources. A Deployment with replicas > 0 stands for its pods even before
 * the runtime has started them (so analyze right after apply does not report every Service as empty);
 * Pods a Deployment owns are not counted twice.
 */
function workloadsOf(resources: readonly Resource[]): AnalyzedWorkload[] {
  const out: AnalyzedWorkload[] = [];
  const deployments = new Set<string>();
  for (const r of resources) {
    if (r.kind !== 'Deployment') continue;
    const spec = asObj(r.spec);
    const replicas = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
    if (replicas === 0) continue;
    const template = asObj(spec['template']);
    out.push(workload(r, stringMap(asObj(template['metadata'])['labels']), serviceAccountOf(asObj(template['spec']))));
    deployments.add(`${namespaceOf(r)}/${r.metadata.name}`);
  }
  for (const r of resources) {
    if (r.kind === 'Pod') {
      const owner = r.metadata.annotations?.[ANNOTATION_WORKLOAD_NAME];
      if (owner && deployments.has(`${namespaceOf(r)}/${owner}`)) continue;
      out.push(workload(r, stringMap(r.metadata.labels), serviceAccountOf(asObj(r.spec))));
    } else if (r.kind === 'WorkloadEntry') {
      const spec = asObj(r.spec);
      out.push(workload(r, stringMap(spec['labels']), typeof spec['serviceAccount'] === 'string' && spec['serviceAccount'] ? spec['serviceAccount'] : 'default'));
    }
  }
  return out;
}

export function snapshotOf(resources: readonly Resource[]): Snapshot {
  const servicesByHost = new Map<string, Resource>();
  const serviceEntryHosts = new Set<string>();
  const namespaces = new Set<string>([MESH_ROOT_NAMESPACE]);
  for (const r of resources) {
    if (r.kind === 'Namespace') namespaces.add(r.metadata.name);
    else if (r.metadata.namespace) namespaces.add(r.metadata.namespace);
    if (r.kind === 'Service') servicesByHost.set(fqdn(r.metadata.name, namespaceOf(r)), r);
    if (r.kind === 'ServiceEntry') for (const h of asArr(asObj(r.spec)['hosts'])) if (typeof h === 'string') serviceEntryHosts.add(fqdn(h, namespaceOf(r)));
  }
  return { resources, workloads: workloadsOf(resources), servicesByHost, serviceEntryHosts, namespaces };
}

/** Workloads in `namespace` (every namespace for the mesh root) whose labels match `selector`. */
export function selected(s: Snapshot, namespace: string, selector: Labels): AnalyzedWorkload[] {
  return s.workloads.filter((w) => (namespace === MESH_ROOT_NAMESPACE || w.namespace === namespace) && selectorMatches(selector, w.labels));
}

/** `app=ratings,version=v2` */
export function formatLabels(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
