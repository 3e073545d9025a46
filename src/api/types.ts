// The shapes of stored resources. Specs keep the upstream (Kubernetes / Istio) field names.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Set by the store; a decimal counter that grows with every write in the store. */
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  generation?: number;
}

export interface Resource<Spec = Record<string, unknown>> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Record<string, unknown>;
}

/** Identifies one resource in the store. */
export interface ResourceKey {
  kind: string;
  namespace: string; // '' for cluster-scoped kinds
  name: string;
}

export function keyOf(r: Resource): ResourceKey {
  return { kind: r.kind, namespace: r.metadata.namespace ?? '', name: r.metadata.name };
}

export function keyString(k: ResourceKey): string {
  return `${k.kind}/${k.namespace}/${k.name}`;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  kind: string;
  namespace: string;
  name: string;
  action: ApplyAction;
}
