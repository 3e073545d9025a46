// Between the mesh model and istio-peer-exchange metadata: what a proxy announces for the workload it
// speaks for, and the workload a peer's announcement describes (so telemetry labels come from the wire).
import type { MeshWorkload } from '../../api/mesh.js';
import { canonicalName, canonicalRevision, LABEL_CANONICAL_NAME, LABEL_CANONICAL_REVISION } from '../../api/derive.js';
import { telemetryLabels } from '../../api/labels.js';
import type { PeerMetadata } from './codec.js';
import { parseSpiffeUri } from '../../identity/spiffe.js';

/** Kubernetes' owner reference form Istio puts in OWNER, for the workload kinds the mesh knows. */
function ownerOf(w: MeshWorkload): string | undefined {
  const resource = { DEPLOYMENT: 'apps/v1/namespaces/%s/deployments', CRONJOB: 'batch/v1/namespaces/%s/cronjobs', JOB: 'batch/v1/namespaces/%s/jobs', POD: 'v1/namespaces/%s/pods' }[w.workloadType];
  return resource ? `kubernetes://apis/${resource.replace('%s', w.namespace)}/${w.workloadName}` : undefined;
}

/**
 * The metadata a proxy announces for `workload`: its names, identity and telemetry labels, with the
 * canonical service and revision spelled out as labels (Istio's sidecars always carry them).
 * `extraLabels` (a sidecar's --label) go on top and win.
 */
export function peerMetadataOf(workload: MeshWorkload, identity: string, extraLabels: Record<string, string> = {}): PeerMetadata {
  const labels: Record<string, string> = {
    ...workload.labels,
    [LABEL_CANONICAL_NAME]: workload.canonicalName,
    [LABEL_CANONICAL_REVISION]: workload.canonicalRevision,
    ...extraLabels,
  };
  const owner = ownerOf(workload);
  return {
    name: workload.name,
    namespace: workload.namespace,
    workloadName: workload.workloadName,
    clusterId: workload.clusterId,
    identity,
    ...(owner ? { owner } : {}),
    labels,
  };
}

/**
 * The workload a peer described: enough of a MeshWorkload for telemetry labels and the access log
 * (names, canonical service/revision from LABELS, app/version, cluster, identity). Its uid is marked
 * as coming from the wire so it never collides with a registry workload's.
 */
export function workloadFromPeerMetadata(meta: PeerMetadata): MeshWorkload {
  let workload = fromMetadata.get(meta);
  if (!workload) {
    // Shared by every connection from that peer: read-only.
    workload = Object.freeze(describedWorkload(meta));
    fromMetadata.set(meta, workload);
  }
  return workload;
}

/** One workload per metadata object: the exchange decodes a peer's repeated frame to the same object. */
const fromMetadata = new WeakMap<PeerMetadata, MeshWorkload>();

function describedWorkload(meta: PeerMetadata): MeshWorkload {
  const id = meta.identity ? parseSpiffeUri(meta.identity) : undefined;
  const workloadName = meta.workloadName || meta.name;
  return {
    uid: `peer-metadata//${meta.namespace}/${meta.name}`,
    name: meta.name,
    namespace: meta.namespace,
    addresses: [],
    hostname: '',
    network: '',
    tunnelProtocol: 'LEGACY_ISTIO_MTLS',
    trustDomain: id?.trustDomain ?? '',
    serviceAccount: id?.serviceAccount ?? '',
    node: '',
    canonicalName: canonicalName(meta.labels, workloadName),
    canonicalRevision: canonicalRevision(meta.labels),
    workloadType: 'POD',
    workloadName,
    services: {},
    authorizationPolicies: [],
    status: 'HEALTHY',
    clusterId: meta.clusterId,
    capacity: 1,
    labels: telemetryLabels(meta.labels),
  };
}
