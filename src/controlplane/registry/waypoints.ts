// Which waypoint (if any) a service or workload sends its traffic through: the `istio.io/use-waypoint`
// label on the object itself, else (services only) on its namespace; `none` opts a service out.
import type { GatewayAddress } from '../../api/mesh.js';
import type { Resource } from '../../api/types.js';
import {
  LABEL_GATEWAY_MANAGED,
  LABEL_USE_WAYPOINT,
  LABEL_USE_WAYPOINT_NAMESPACE,
  WAYPOINT_NONE,
  stringMap,
  type Labels,
} from '../../api/labels.js';
import { HBONE_PORT } from '../../config/mesh-constants.js';
import { serviceHostname } from './options.js';

/** Namespace name → its labels, from `Namespace` resources (cluster-scoped). */
export function namespaceLabels(namespaces: Resource[]): Map<string, Labels> {
  const out = new Map<string, Labels>();
  for (const ns of namespaces) out.set(ns.metadata.name, stringMap(ns.metadata.labels));
  return out;
}

function gatewayFor(name: string, namespace: string): GatewayAddress {
  return { hostname: { namespace, hostname: serviceHostname(name, namespace) }, hboneMtlsPort: HBONE_PORT };
}

/** The waypoint named by `labels` (in `defaultNamespace` unless the labels say otherwise), or undefined. */
function fromLabels(labels: Labels, defaultNamespace: string): { name: string; namespace: string } | 'none' | undefined {
  const name = labels[LABEL_USE_WAYPOINT];
  if (name === undefined || name === '') return undefined;
  if (name === WAYPOINT_NONE) return 'none';
  return { name, namespace: labels[LABEL_USE_WAYPOINT_NAMESPACE] || defaultNamespace };
}

/**
 * The waypoint of a Service or ServiceEntry. An object that is itself a waypoint (managed by the gateway
 * controller, or named like the waypoint it would use) never points at itself: that would loop.
 */
export function serviceWaypoint(
  name: string,
  namespace: string,
  labels: Labels,
  nsLabels: Labels | undefined,
): GatewayAddress | undefined {
  if (labels[LABEL_GATEWAY_MANAGED] !== undefined) return undefined;
  let chosen = fromLabels(labels, namespace);
  if (chosen === undefined && nsLabels) chosen = fromLabels(nsLabels, namespace);
  if (chosen === undefined || chosen === 'none') return undefined;
  if (chosen.name === name && chosen.namespace === namespace) return undefined;
  return gatewayFor(chosen.name, chosen.namespace);
}

/**
 * The waypoint of a workload: only its own label counts. A namespace label addresses service traffic
 * (Istio's default waypoint traffic type), so it does not make every workload use the waypoint.
 */
export function workloadWaypoint(namespace: string, labels: Labels): GatewayAddress | undefined {
  if (labels[LABEL_GATEWAY_MANAGED] !== undefined) return undefined;
  const chosen = fromLabels(labels, namespace);
  if (chosen === undefined || chosen === 'none') return undefined;
  return gatewayFor(chosen.name, chosen.namespace);
}
