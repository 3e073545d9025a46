// Translation between the mesh model (src/api/mesh.ts) and protobufjs message objects of
// istio.workload / istio.security. Encoding is deterministic (map keys sorted) so that equal
// resources give equal bytes and therefore equal xDS versions.
import type {
  AuthorizationMatch,
  GatewayAddress,
  MeshAuthorization,
  MeshMetricsOverride,
  MeshService,
  MeshTelemetry,
  MeshTelemetryMetrics,
  MeshWorkload,
  PortMapping,
  StringMatch,
} from '../api/mesh.js';
import { L4meshError } from '../errors/index.js';
import { bytesToIp, cidrFromProto, cidrToProto, ipToBytes } from './address-bytes.js';

type Obj = Record<string, any>;

const DEFAULT_CAPACITY = 1; // ztunnel treats an unset capacity as weight 1

function invalid(what: string, problem: string): L4meshError {
  return new L4meshError('L4MESH_ERR_PROTOCOL', `${what}: ${problem}`);
}

function sortedEntries<V>(record: Record<string, V>): Array<[string, V]> {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function portToProto(p: PortMapping): Obj {
  return { servicePort: p.servicePort, targetPort: p.targetPort, appProtocol: p.appProtocol ?? 'UNKNOWN' };
}
function portFromProto(p: Obj): PortMapping {
  const out: PortMapping = { servicePort: p.servicePort, targetPort: p.targetPort };
  const app = p.appProtocol as string;
  if (app === 'HTTP11' || app === 'HTTP2' || app === 'GRPC') out.appProtocol = app;
  return out;
}

function gatewayToProto(g: GatewayAddress): Obj {
  const out: Obj = { hboneMtlsPort: g.hboneMtlsPort };
  if (g.hostname) out.hostname = { namespace: g.hostname.namespace, hostname: g.hostname.hostname };
  else if (g.address) out.address = { network: g.address.network, address: ipToBytes(g.address.address) };
  return out;
}
function gatewayFromProto(g: Obj): GatewayAddress {
  const out: GatewayAddress = { hboneMtlsPort: g.hboneMtlsPort };
  if (g.destination === 'hostname' && g.hostname) out.hostname = { namespace: g.hostname.namespace, hostname: g.hostname.hostname };
  if (g.destination === 'address' && g.address) out.address = { network: g.address.network, address: bytesToIp(g.address.address) };
  return out;
}

export function workloadToProto(w: MeshWorkload): Obj {
  const services: Obj = {};
  for (const [key, ports] of sortedEntries(w.services)) services[key] = { ports: ports.map(portToProto) };
  const labels: Obj = {};
  for (const [k, v] of sortedEntries(w.labels)) labels[k] = v;
  const out: Obj = {
    uid: w.uid,
    name: w.name,
    namespace: w.namespace,
    addresses: w.addresses.map(ipToBytes),
    hostname: w.hostname,
    network: w.network,
    tunnelProtocol: w.tunnelProtocol,
    trustDomain: w.trustDomain,
    serviceAccount: w.serviceAccount,
    node: w.node,
    canonicalName: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
    workloadType: w.workloadType,
    workloadName: w.workloadName,
    services,
    authorizationPolicies: w.authorizationPolicies,
    status: w.status,
    clusterId: w.clusterId,
    labels,
  };
  if (w.waypoint) out.waypoint = gatewayToProto(w.waypoint);
  if (w.capacity !== DEFAULT_CAPACITY) out.capacity = { value: w.capacity };
  return out;
}

export function workloadFromProto(m: Obj): MeshWorkload {
  const what = `workload "${m.uid || m.name || '<unnamed>'}"`;
  if (!m.uid) throw invalid(what, 'uid is empty (it is the resource name)');
  const services: Record<string, PortMapping[]> = {};
  for (const [key, list] of sortedEntries<Obj>(m.services ?? {})) services[key] = (list.ports ?? []).map(portFromProto);
  const labels: Record<string, string> = {};
  for (const [k, v] of sortedEntries<string>(m.labels ?? {})) labels[k] = v;
  const out: MeshWorkload = {
    uid: m.uid,
    name: m.name,
    namespace: m.namespace,
    addresses: (m.addresses as Uint8Array[]).map((a, i) => {
      if (a.length !== 4 && a.length !== 16) throw invalid(what, `addresses[${i}] has ${a.length} bytes, expected 4 or 16`);
      return bytesToIp(a);
    }),
    hostname: m.hostname,
    network: m.network,
    tunnelProtocol: enumValue(what, 'tunnelProtocol', m.tunnelProtocol, ['NONE', 'HBONE', 'LEGACY_ISTIO_MTLS'] as const),
    trustDomain: m.trustDomain,
    serviceAccount: m.serviceAccount,
    node: m.node,
    canonicalName: m.canonicalName,
    canonicalRevision: m.canonicalRevision,
    workloadType: enumValue(what, 'workloadType', m.workloadType, ['DEPLOYMENT', 'CRONJOB', 'POD', 'JOB'] as const),
    workloadName: m.workloadName,
    services,
    authorizationPolicies: m.authorizationPolicies,
    status: enumValue(what, 'status', m.status, ['HEALTHY', 'UNHEALTHY'] as const),
    clusterId: m.clusterId,
    capacity: m.capacity ? m.capacity.value : DEFAULT_CAPACITY,
    labels,
  };
  if (m.waypoint) out.waypoint = gatewayFromProto(m.waypoint);
  return out;
}

function enumValue<T extends string>(what: string, field: string, value: unknown, allowed: readonly T[]): T {
  // protobufjs yields the number for values this .proto does not know (a newer control plane).
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw invalid(what, `${field} has unsupported value ${String(value)}`);
}

export function serviceToProto(s: MeshService): Obj {
  const out: Obj = {
    name: s.name,
    namespace: s.namespace,
    hostname: s.hostname,
    // Virtual IPs live on the default network ('') in l4mesh.
    addresses: s.addresses.map((a) => ({ network: '', address: ipToBytes(a) })),
    ports: s.ports.map(portToProto),
  };
  if (s.waypoint) out.waypoint = gatewayToProto(s.waypoint);
  return out;
}

export function serviceFromProto(m: Obj): MeshService {
  const what = `service "${m.namespace}/${m.hostname}"`;
  if (!m.hostname) throw invalid(what, 'hostname is empty (it is part of the resource name)');
  const out: MeshService = {
    name: m.name,
    namespace: m.namespace,
    hostname: m.hostname,
    addresses: (m.addresses as Obj[]).map((a) => bytesToIp(a.address)),
    ports: (m.ports as Obj[]).map(portFromProto),
  };
  if (m.waypoint) out.waypoint = gatewayFromProto(m.waypoint);
  return out;
}

function stringMatchToProto(s: StringMatch): Obj {
  if ('exact' in s) return { exact: s.exact };
  if ('prefix' in s) return { prefix: s.prefix };
  if ('suffix' in s) return { suffix: s.suffix };
  return { presence: {} };
}
function stringMatchFromProto(what: string, m: Obj): StringMatch {
  switch (m.matchType) {
    case 'exact':
      return { exact: m.exact };
    case 'prefix':
      return { prefix: m.prefix };
    case 'suffix':
      return { suffix: m.suffix };
    case 'presence':
      return { presence: true };
    default:
      throw invalid(what, 'a StringMatch has no match type set');
  }
}

function matchToProto(m: AuthorizationMatch): Obj {
  return {
    namespaces: m.namespaces.map(stringMatchToProto),
    notNamespaces: m.notNamespaces.map(stringMatchToProto),
    principals: m.principals.map(stringMatchToProto),
    notPrincipals: m.notPrincipals.map(stringMatchToProto),
    sourceIps: m.sourceIps.map(cidrToProto),
    notSourceIps: m.notSourceIps.map(cidrToProto),
    destinationIps: m.destinationIps.map(cidrToProto),
    notDestinationIps: m.notDestinationIps.map(cidrToProto),
    destinationPorts: m.destinationPorts,
    notDestinationPorts: m.notDestinationPorts,
  };
}
function matchFromProto(what: string, m: Obj): AuthorizationMatch {
  const strings = (list: Obj[]) => list.map((s) => stringMatchFromProto(what, s));
  const cidrs = (list: Obj[]) => list.map((c) => cidrFromProto(c.address, c.length));
  return {
    namespaces: strings(m.namespaces),
    notNamespaces: strings(m.notNamespaces),
    principals: strings(m.principals),
    notPrincipals: strings(m.notPrincipals),
    sourceIps: cidrs(m.sourceIps),
    notSourceIps: cidrs(m.notSourceIps),
    destinationIps: cidrs(m.destinationIps),
    notDestinationIps: cidrs(m.notDestinationIps),
    destinationPorts: m.destinationPorts,
    notDestinationPorts: m.notDestinationPorts,
  };
}

export function authorizationToProto(a: MeshAuthorization): Obj {
  return {
    name: a.name,
    namespace: a.namespace,
    scope: a.scope,
    action: a.action,
    rules: a.rules.map((r) => ({ clauses: r.clauses.map((c) => ({ matches: c.matches.map(matchToProto) })) })),
  };
}

export function authorizationFromProto(m: Obj): MeshAuthorization {
  const what = `authorization "${m.namespace}/${m.name}"`;
  if (!m.name) throw invalid(what, 'name is empty (it is part of the resource name)');
  return {
    name: m.name,
    namespace: m.namespace,
    scope: enumValue(what, 'scope', m.scope, ['GLOBAL', 'NAMESPACE', 'WORKLOAD_SELECTOR'] as const),
    action: enumValue(what, 'action', m.action, ['ALLOW', 'DENY'] as const),
    rules: (m.rules as Obj[]).map((r) => ({
      clauses: (r.clauses as Obj[]).map((c) => ({ matches: (c.matches as Obj[]).map((x) => matchFromProto(what, x)) })),
    })),
  };
}

// l4mesh.telemetry.Telemetry: empty strings on the wire stand for "not set" in the Telemetry API.
function overrideToProto(o: MeshMetricsOverride): Obj {
  const tagOverrides: Obj = {};
  for (const [tag, t] of sortedEntries(o.tagOverrides)) tagOverrides[tag] = { operation: t.operation ?? '', value: t.value ?? '' };
  const out: Obj = { tagOverrides };
  if (o.match) out.match = { metric: o.match.metric ?? '', customMetric: o.match.customMetric ?? '', mode: o.match.mode ?? '' };
  if (o.disabled !== undefined) out.disabled = { value: o.disabled };
  return out;
}

export function telemetryToProto(t: MeshTelemetry): Obj {
  const selector: Obj = {};
  for (const [k, v] of sortedEntries(t.selector)) selector[k] = v;
  return {
    name: t.name,
    namespace: t.namespace,
    creationTimestamp: t.creationTimestamp,
    selector,
    metrics: t.metrics.map((m) => ({ providers: m.providers, overrides: m.overrides.map(overrideToProto), reportingInterval: m.reportingInterval ?? '' })),
  };
}

function setIfNonEmpty<T extends Obj>(out: T, key: keyof T & string, value: unknown): void {
  if (typeof value === 'string' && value !== '') (out as Obj)[key] = value;
}

function overrideFromProto(what: string, o: Obj): MeshMetricsOverride {
  const tagOverrides: MeshMetricsOverride['tagOverrides'] = {};
  for (const [tag, t] of sortedEntries<Obj>(o.tagOverrides ?? {})) {
    const entry: { operation?: 'UPSERT' | 'REMOVE'; value?: string } = {};
    if (t.operation) entry.operation = enumValue(what, `tagOverrides.${tag}.operation`, t.operation, ['UPSERT', 'REMOVE'] as const);
    setIfNonEmpty(entry, 'value', t.value);
    tagOverrides[tag] = entry;
  }
  const out: MeshMetricsOverride = { tagOverrides };
  if (o.match) {
    const match: NonNullable<MeshMetricsOverride['match']> = {};
    setIfNonEmpty(match, 'metric', o.match.metric);
    setIfNonEmpty(match, 'customMetric', o.match.customMetric);
    setIfNonEmpty(match, 'mode', o.match.mode);
    out.match = match;
  }
  if (o.disabled) out.disabled = Boolean(o.disabled.value);
  return out;
}

export function telemetryFromProto(m: Obj): MeshTelemetry {
  const what = `telemetry "${m.namespace}/${m.name}"`;
  if (!m.name) throw invalid(what, 'name is empty (it is part of the resource name)');
  const selector: Record<string, string> = {};
  for (const [k, v] of sortedEntries<string>(m.selector ?? {})) selector[k] = v;
  return {
    name: m.name,
    namespace: m.namespace,
    creationTimestamp: m.creationTimestamp,
    selector,
    metrics: ((m.metrics ?? []) as Obj[]).map((x): MeshTelemetryMetrics => {
      const metrics: MeshTelemetryMetrics = { providers: x.providers ?? [], overrides: ((x.overrides ?? []) as Obj[]).map((o) => overrideFromProto(what, o)) };
      setIfNonEmpty(metrics, 'reportingInterval', x.reportingInterval);
      return metrics;
    }),
  };
}
