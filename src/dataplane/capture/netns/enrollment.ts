// Whether a pod is in the ambient mesh, by Istio's labels: `istio.io/dataplane-mode=ambient` on the pod or
// its namespace enrolls it, `none` on the pod opts it out, and a pod with its own sidecar is never captured.

export const DATAPLANE_MODE_LABEL = 'istio.io/dataplane-mode';
export const DATAPLANE_MODE_AMBIENT = 'ambient';
export const DATAPLANE_MODE_NONE = 'none';

export interface EnrollmentInput {
  podLabels: Readonly<Record<string, string>>;
  namespaceLabels: Readonly<Record<string, string>>;
  /** The pod runs its own sidecar proxy (LEGACY_ISTIO_MTLS); its traffic is that proxy's, not the node's. */
  hasSidecar: boolean;
}

/** Why a pod is or is not captured, in words `ztunnel-config workloads` and logs can show. */
export type Enrollment =
  | { enrolled: true; by: 'pod label' | 'namespace label' }
  | { enrolled: false; why: 'pod opted out' | 'has a sidecar' | 'not labelled' };

export function enrollment(input: EnrollmentInput): Enrollment {
  const pod = input.podLabels[DATAPLANE_MODE_LABEL];
  if (pod === DATAPLANE_MODE_NONE) return { enrolled: false, why: 'pod opted out' };
  if (input.hasSidecar) return { enrolled: false, why: 'has a sidecar' };
  if (pod === DATAPLANE_MODE_AMBIENT) return { enrolled: true, by: 'pod label' };
  if (input.namespaceLabels[DATAPLANE_MODE_LABEL] === DATAPLANE_MODE_AMBIENT) return { enrolled: true, by: 'namespace label' };
  return { enrolled: false, why: 'not labelled' };
}
