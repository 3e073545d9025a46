// The mesh model the control plane computes and proxies consume: one TypeScript shape per xDS
// resource (istio.workload.Workload / Service, istio.security.Authorization), camelCase field names
// of Istio's protos. Conversion to and from protobuf lives in src/proto/convert.ts.

export type TunnelProtocol = 'NONE' | 'HBONE' | 'LEGACY_ISTIO_MTLS';
export type WorkloadType = 'DEPLOYMENT' | 'CRONJOB' | 'POD' | 'JOB';
export type WorkloadStatus = 'HEALTHY' | 'UNHEALTHY';

export interface NamespacedHostname {
  namespace: string;
  hostname: string;
}

/** Istio's GatewayAddress: where a waypoint is reached. */
export interface GatewayAddress {
  /** Either a service hostname ... */
  hostname?: NamespacedHostname;
  /** ... or an IP address (network '' for the default network). */
  address?: { network: string; address: string };
  hboneMtlsPort: number;
}

export interface PortMapping {
  servicePort: number;
  targetPort: number;
  appProtocol?: 'UNKNOWN' | 'HTTP11' | 'HTTP2' | 'GRPC';
}

export interface MeshWorkload {
  /** e.g. `Kubernetes//Pod/default/ratings-v2-5c8f6d9b7-x7k2p`, or `Kubernetes/networking.istio.io/WorkloadEntry/ns/name`. */
  uid: string;
  name: string;
  namespace: string;
  /** Dotted-quad IPv4 or IPv6 text; encoded as raw bytes on the wire. */
  addresses: string[];
  hostname: string;
  network: string;
  tunnelProtocol: TunnelProtocol;
  trustDomain: string;
  serviceAccount: string;
  waypoint?: GatewayAddress;
  node: string;
  canonicalName: string;
  canonicalRevision: string;
  workloadType: WorkloadType;
  /** The owning workload's name, e.g. the Deployment `ratings-v2`. */
  workloadName: string;
  /** Services this workload backs, keyed `namespace/hostname`, with the port mapping of each. */
  services: Record<string, PortMapping[]>;
  /** `namespace/name` of selector-scoped Authorization policies that apply to this workload. */
  authorizationPolicies: string[];
  status: WorkloadStatus;
  clusterId: string;
  /** Relative weight in load balancing; 1 when unset. */
  capacity: number;
  /**
   * l4mesh extension (field 1000 on the wire; Istio's ztunnel ignores it): the workload's labels that
   * telemetry reports (`app`, `version`, canonical-name/revision), so `*_app`/`*_version` are exact.
   */
  labels: Record<string, string>;
}

export interface MeshService {
  name: string;
  namespace: string;
  /** e.g. `ratings.default.svc.cluster.local` */
  hostname: string;
  /** Virtual IPs. */
  addresses: string[];
  ports: PortMapping[];
  waypoint?: GatewayAddress;
}

export type StringMatch = { exact: string } | { prefix: string } | { suffix: string } | { presence: true };

export interface AuthorizationMatch {
  namespaces: StringMatch[];
  notNamespaces: StringMatch[];
  principals: StringMatch[];
  notPrincipals: StringMatch[];
  /** CIDRs as `address/length` text. */
  sourceIps: string[];
  notSourceIps: string[];
  destinationIps: string[];
  notDestinationIps: string[];
  destinationPorts: number[];
  notDestinationPorts: number[];
}

export interface AuthorizationClause {
  /** Any match satisfies the clause. */
  matches: AuthorizationMatch[];
}

export interface AuthorizationRule {
  /** Every clause must be satisfied. */
  clauses: AuthorizationClause[];
}

export interface MeshAuthorization {
  name: string;
  namespace: string;
  scope: 'GLOBAL' | 'NAMESPACE' | 'WORKLOAD_SELECTOR';
  action: 'ALLOW' | 'DENY';
  /** Any rule satisfied means the policy matches. */
  rules: AuthorizationRule[];
}

/** One `spec.metrics[].overrides[]` entry of a Telemetry, as the Telemetry API spells it. */
export interface MeshMetricsOverride {
  match?: { metric?: string; customMetric?: string; mode?: string };
  /** Absent means "not said" (a wider level's choice stands); false re-enables. */
  disabled?: boolean;
  tagOverrides: Record<string, { operation?: 'UPSERT' | 'REMOVE'; value?: string }>;
}

export interface MeshTelemetryMetrics {
  /** Provider names; empty means the default provider (prometheus). */
  providers: string[];
  overrides: MeshMetricsOverride[];
  /** Duration text as written in the resource (`15s`, `500ms`); absent when not set. */
  reportingInterval?: string;
}

/**
 * l4mesh's own xDS resource (type URL TELEMETRY_TYPE_URL): the metrics part of a telemetry.istio.io
 * Telemetry, so node proxies apply the Telemetry API without a restart. Istio's ztunnel has no such
 * type and simply does not subscribe to it.
 */
export interface MeshTelemetry {
  name: string;
  namespace: string;
  /** RFC 3339; Telemetry objects are ordered by it when several could apply. */
  creationTimestamp: string;
  /** `spec.selector.matchLabels`; empty means namespace-wide. */
  selector: Record<string, string>;
  metrics: MeshTelemetryMetrics[];
}

/** xDS type URLs and resource naming, as Istio's ztunnel uses them. */
export const ADDRESS_TYPE_URL = 'type.googleapis.com/istio.workload.Address';
export const AUTHORIZATION_TYPE_URL = 'type.googleapis.com/istio.security.Authorization';
/** l4mesh's Telemetry resource type (not an Istio type). */
export const TELEMETRY_TYPE_URL = 'type.googleapis.com/l4mesh.telemetry.Telemetry';

export function workloadResourceName(w: MeshWorkload): string {
  return w.uid;
}
export function serviceResourceName(s: MeshService): string {
  return `${s.namespace}/${s.hostname}`;
}
export function authorizationResourceName(a: MeshAuthorization): string {
  return `${a.namespace}/${a.name}`;
}
export function telemetryResourceName(t: MeshTelemetry): string {
  return `${t.namespace}/${t.name}`;
}

/** What a proxy holds: every resource it has been sent, by resource name. */
export interface MeshSnapshot {
  workloads: Map<string, MeshWorkload>;
  services: Map<string, MeshService>;
  authorizations: Map<string, MeshAuthorization>;
  /** Telemetry resources; optional so snapshots built before this type existed stay valid. */
  telemetries?: Map<string, MeshTelemetry>;
}

export const MESH_ROOT_NAMESPACE = 'istio-system';
