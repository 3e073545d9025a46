// Workloads from Pods (written by the local runtime) and WorkloadEntries (VMs, plain hosts).
import { isIP } from 'node:net';
import { DEFAULT_SERVICE_ACCOUNT, canonicalName, canonicalRevision, workloadTypeOf } from '../../api/derive.js';
import type { MeshWorkload, TunnelProtocol, WorkloadStatus } from '../../api/mesh.js';
import type { Resource } from '../../api/types.js';
import {
  AMBIENT_REDIRECTION_ENABLED,
  ANNOTATION_AMBIENT_REDIRECTION,
  ANNOTATION_NETNS,
  ANNOTATION_NODE,
  ANNOTATION_WORKLOAD_KIND,
  ANNOTATION_WORKLOAD_NAME,
  LABEL_DATAPLANE_MODE,
  LABEL_SIDECAR_INJECT,
  stringMap,
  telemetryLabels,
  type Labels,
} from '../../api/labels.js';
import type { ResolvedOptions } from './options.js';
import { workloadWaypoint } from './waypoints.js';


/** A workload under construction: the mesh object plus what services and policies select on. */
export interface WorkloadDraft {
  workload: MeshWorkload;
  /** All labels, not just the telemetry subset the Workload carries; selectors match on these. */
  allLabels: Labels;
  /** Port name → number the workload declares (Pod container ports, WorkloadEntry `ports`). */
  namedPorts: Record<string, number>;
  kind: 'Pod' | 'WorkloadEntry' | 'ServiceEntry';
}

/** How peers reach the workload: its own sidecar, the node proxy (HBONE), or not through the mesh at all. */
export function tunnelProtocolOf(labels: Labels, annotations: Labels): TunnelProtocol {
  if (labels[LABEL_DATAPLANE_MODE] === 'none') return 'NONE';
  if (labels[LABEL_SIDECAR_INJECT] === 'true' || annotations[LABEL_SIDECAR_INJECT] === 'true') return 'LEGACY_ISTIO_MTLS';
  // A netns-mode pod is in the mesh only once its traffic is redirected, as istiod reads istio-cni's mark.
  if (annotations[ANNOTATION_NETNS] !== undefined && annotations[ANNOTATION_AMBIENT_REDIRECTION] !== AMBIENT_REDIRECTION_ENABLED) return 'NONE';
  return 'HBONE';
}

interface OwnerRef {
  kind?: unknown;
  name?: unknown;
}

/** The owning workload's kind and name: l4mesh annotations first, then the first ownerReference. */
function ownerOf(pod: Resource): { kind: string | undefined; name: string } {
  const annotations = stringMap(pod.metadata.annotations);
  const refs = (pod.metadata as { ownerReferences?: OwnerRef[] }).ownerReferences;
  const ref = Array.isArray(refs) ? refs[0] : undefined;
  const refKind = typeof ref?.kind === 'string' ? ref.kind : undefined;
  let refName = typeof ref?.name === 'string' ? ref.name : undefined;
  // A ReplicaSet is `<deployment>-<pod-template-hash>`; the workload is the Deployment.
  if (refKind === 'ReplicaSet' && refName && refName.includes('-')) refName = refName.slice(0, refName.lastIndexOf('-'));
  return {
    kind: annotations[ANNOTATION_WORKLOAD_KIND] ?? refKind,
    name: annotations[ANNOTATION_WORKLOAD_NAME] || refName || pod.metadata.name,
  };
}

function podStatus(status: Record<string, unknown> | undefined): WorkloadStatus {
  if (status?.['phase'] !== 'Running') return 'UNHEALTHY';
  const conditions = Array.isArray(status['conditions']) ? (status['conditions'] as Array<Record<string, unknown>>) : [];
  const ready = conditions.find((c) => c && c['type'] === 'Ready');
  return ready && ready['status'] === 'False' ? 'UNHEALTHY' : 'HEALTHY';
}

function podAddresses(status: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  const ip = status?.['podIP'];
  if (typeof ip === 'string' && ip) out.push(ip);
  const ips = status?.['podIPs'];
  if (Array.isArray(ips)) {
    for (const entry of ips as Array<{ ip?: unknown }>) {
      if (typeof entry?.ip === 'string' && entry.ip && !out.includes(entry.ip)) out.push(entry.ip);
    }
  }
  return out;
}

function containerPorts(spec: Record<string, unknown> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  const containers = Array.isArray(spec?.['containers']) ? (spec!['containers'] as Array<Record<string, unknown>>) : [];
  for (const c of containers) {
    const ports = Array.isArray(c?.['ports']) ? (c['ports'] as Array<Record<string, unknown>>) : [];
    for (const p of ports) {
      if (typeof p?.['name'] === 'string' && typeof p['containerPort'] === 'number') out[p['name']] = p['containerPort'];
    }
  }
  return out;
}

/** A Pod's workload, or undefined when it has no address yet or has finished. */
export function podWorkload(pod: Resource, opts: ResolvedOptions): WorkloadDraft | undefined {
  const status = pod.status;
  // Finished pods keep their record but no longer own their IP.
  if (status?.['phase'] === 'Succeeded' || status?.['phase'] === 'Failed') return undefined;
  const addresses = podAddresses(status);
  if (addresses.length === 0) return undefined;
  const spec = pod.spec;
  const namespace = pod.metadata.namespace ?? 'default';
  const labels = stringMap(pod.metadata.labels);
  const annotations = stringMap(pod.metadata.annotations);
  const owner = ownerOf(pod);
  const serviceAccount = typeof spec?.['serviceAccountName'] === 'string' && spec['serviceAccountName'] ? spec['serviceAccountName'] : DEFAULT_SERVICE_ACCOUNT;
  const node = typeof spec?.['nodeName'] === 'string' && spec['nodeName'] ? spec['nodeName'] : (annotations[ANNOTATION_NODE] ?? '');
  const workload: MeshWorkload = {
    uid: `${opts.clusterId}//Pod/${namespace}/${pod.metadata.name}`,
    name: pod.metadata.name,
    namespace,
    addresses,
    hostname: '',
    network: opts.network,
    tunnelProtocol: tunnelProtocolOf(labels, annotations),
    trustDomain: opts.trustDomain,
    serviceAccount,
    node,
    canonicalName: canonicalName(labels, owner.name),
    canonicalRevision: canonicalRevision(labels),
    workloadType: workloadTypeOf(owner.kind),
    workloadName: owner.name,
    services: {},
    authorizationPolicies: [],
    status: podStatus(status),
    clusterId: opts.clusterId,
    capacity: 1,
    labels: telemetryLabels(labels),
  };
  const waypoint = workloadWaypoint(namespace, labels);
  if (waypoint) workload.waypoint = waypoint;
  return { workload, allLabels: labels, namedPorts: containerPorts(spec), kind: 'Pod' };
}

/** A WorkloadEntry's workload (a VM or host process); undefined without an address. */
export function workloadEntryWorkload(entry: Resource, opts: ResolvedOptions): WorkloadDraft | undefined {
  const spec = entry.spec ?? {};
  const address = typeof spec['address'] === 'string' ? spec['address'] : '';
  if (!address) return undefined;
  const namespace = entry.metadata.namespace ?? 'default';
  const name = entry.metadata.name;
  // The entry's own labels select it; metadata labels are merged under them as Istio does.
  const labels = { ...stringMap(entry.metadata.labels), ...stringMap(spec['labels']) };
  const annotations = stringMap(entry.metadata.annotations);
  const weight = typeof spec['weight'] === 'number' && spec['weight'] > 0 ? spec['weight'] : 1;
  const serviceAccount = typeof spec['serviceAccount'] === 'string' && spec['serviceAccount'] ? spec['serviceAccount'] : DEFAULT_SERVICE_ACCOUNT;
  const namedPorts: Record<string, number> = {};
  for (const [k, v] of Object.entries((spec['ports'] as Record<string, unknown> | undefined) ?? {})) {
    if (typeof v === 'number') namedPorts[k] = v;
  }
  const workload: MeshWorkload = {
    uid: `${opts.clusterId}/networking.istio.io/WorkloadEntry/${namespace}/${name}`,
    name,
    namespace,
    // A DNS name is carried as the hostname, as Istio does for WorkloadEntries that name a host.
    addresses: isIP(address) ? [address] : [],
    hostname: isIP(address) ? '' : address,
    network: typeof spec['network'] === 'string' ? spec['network'] : opts.network,
    tunnelProtocol: tunnelProtocolOf(labels, annotations),
    trustDomain: opts.trustDomain,
    serviceAccount,
    node: annotations[ANNOTATION_NODE] ?? '',
    canonicalName: canonicalName(labels, name),
    canonicalRevision: canonicalRevision(labels),
    workloadType: 'POD',
    workloadName: name,
    services: {},
    authorizationPolicies: [],
    status: 'HEALTHY',
    clusterId: opts.clusterId,
    capacity: weight,
    labels: telemetryLabels(labels),
  };
  const waypoint = workloadWaypoint(namespace, labels);
  if (waypoint) workload.waypoint = waypoint;
  return { workload, allLabels: labels, namedPorts, kind: 'WorkloadEntry' };
}
