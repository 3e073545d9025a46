// Istio's standard TCP metric label set (names, order and value rules of DESIGN §6) built from the mesh model.
import type { MeshService, MeshWorkload } from '../../api/mesh.js';
import { spiffeUri } from '../../identity/spiffe.js';

/** Label names in the order every istio_tcp_* series carries them (DESIGN §6; same order as Istio's stats). */
export const TCP_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_service',
  'destination_service_namespace',
  'destination_service_name',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
] as const;

export type TcpLabelName = (typeof TCP_LABEL_NAMES)[number];
/** One value per label; objects built by tcpLabels() have their keys in TCP_LABEL_NAMES order. */
export type TcpLabelValues = Record<TcpLabelName, string>;

export type Reporter = 'source' | 'destination' | 'waypoint';
export type SecurityPolicy = 'mutual_tls' | 'unknown' | 'none';

/** What Istio reports for a value nobody knows. */
export const UNKNOWN = 'unknown';
/** Istio's default canonical revision when a workload has no version label. */
export const DEFAULT_CANONICAL_REVISION = 'latest';
/** response_flags of a connection that completed without a flagged failure. */
export const NO_RESPONSE_FLAGS = '-';
/** Flags the data plane sets (ztunnel's DENY / CONNECT, plus Envoy's TLS failure spelling). */
export const RESPONSE_FLAGS = { deny: 'DENY', connect: 'CONNECT', tlsFailure: 'TLS_FAILURE' } as const;

export interface TcpLabelInput {
  reporter: Reporter;
  source?: MeshWorkload;
  /** The peer's SPIFFE id as proven by mTLS; preferred over the one derived from `source`. */
  sourceIdentity?: string;
  destination?: MeshWorkload;
  destinationIdentity?: string;
  service?: MeshService;
  responseFlags?: string;
  securityPolicy: SecurityPolicy;
}

/** An empty string is as unknown as a missing one (ztunnel treats both alike). */
function known(value: string | undefined, fallback: string = UNKNOWN): string {
  return value ? value : fallback;
}

function identityOf(w: MeshWorkload | undefined, given: string | undefined): string {
  if (given) return given;
  if (!w || !w.trustDomain || !w.namespace || !w.serviceAccount) return UNKNOWN;
  return spiffeUri(w.trustDomain, w.namespace, w.serviceAccount);
}

/**
 * Builds the label values of one connection. Differences from ztunnel (src/proxy/metrics.rs), where
 * DESIGN §6 is the contract:
 * - ztunnel fills `*_app`/`*_version` from the canonical name/revision; we report the workload's
 *   `app`/`version` labels as the sidecar (Envoy stats) path does, `unknown` when the label is absent.
 * - ztunnel reports a missing canonical revision as `unknown`; we report `latest` (also for an unknown
 *   peer), the value Istio's Envoy stats use and istiod derives for a workload without a version label.
 * - ztunnel sets `source_principal` only from the mTLS handshake; we also derive it from the source
 *   workload's service account when no handshake identity is given (local mode knows the source).
 * Everything else missing is `unknown`, as in ztunnel.
 */
export function tcpLabels(input: TcpLabelInput): TcpLabelValues {
  const src = input.source;
  const dst = input.destination;
  const svc = input.service;
  // Written key by key in TCP_LABEL_NAMES order: the exposition prints labels in object key order.
  return {
    reporter: input.reporter,
    source_workload: known(src?.workloadName),
    source_canonical_service: known(src?.canonicalName),
    source_canonical_revision: known(src?.canonicalRevision, DEFAULT_CANONICAL_REVISION),
    source_workload_namespace: known(src?.namespace),
    source_principal: identityOf(src, input.sourceIdentity),
    source_app: known(src?.labels?.['app']),
    source_version: known(src?.labels?.['version']),
    source_cluster: known(src?.clusterId),
    destination_service: known(svc?.hostname),
    destination_service_namespace: known(svc?.namespace),
    destination_service_name: known(svc?.name),
    destination_workload: known(dst?.workloadName),
    destination_canonical_service: known(dst?.canonicalName),
    destination_canonical_revision: known(dst?.canonicalRevision, DEFAULT_CANONICAL_REVISION),
    destination_workload_namespace: known(dst?.namespace),
    destination_principal: identityOf(dst, input.destinationIdentity),
    destination_app: known(dst?.labels?.['app']),
    destination_version: known(dst?.labels?.['version']),
    destination_cluster: known(dst?.clusterId),
    request_protocol: 'tcp',
    response_flags: known(input.responseFlags, NO_RESPONSE_FLAGS),
    connection_security_policy: input.securityPolicy,
  };
}

/** Istio metric names of the TCP family, and the failure counter l4mesh adds. */
export const TCP_METRICS = {
  opened: 'istio_tcp_connections_opened_total',
  closed: 'istio_tcp_connections_closed_total',
  sent: 'istio_tcp_sent_bytes_total',
  received: 'istio_tcp_received_bytes_total',
  failed: 'istio_tcp_connections_failed_total',
} as const;

export type TcpMetricKey = keyof typeof TCP_METRICS;
export const TCP_METRIC_KEYS: readonly TcpMetricKey[] = ['opened', 'closed', 'sent', 'received', 'failed'];
