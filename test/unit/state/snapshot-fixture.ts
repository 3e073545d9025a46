// Hand-built mesh resources for the state, LB and RBAC unit tests: defaults filled in, overrides per test.
import type {
  AuthorizationMatch,
  MeshAuthorization,
  MeshService,
  MeshSnapshot,
  MeshWorkload,
} from '../../../src/api/mesh.js';

export function workload(name: string, overrides: Partial<MeshWorkload> = {}): MeshWorkload {
  const namespace = overrides.namespace ?? 'default';
  return {
    uid: `Kubernetes//Pod/${namespace}/${name}`,
    name,
    namespace,
    addresses: [],
    hostname: '',
    network: '',
    tunnelProtocol: 'HBONE',
    trustDomain: 'cluster.local',
    serviceAccount: 'default',
    node: 'node-a',
    canonicalName: name,
    canonicalRevision: 'latest',
    workloadType: 'POD',
    workloadName: name,
    services: {},
    authorizationPolicies: [],
    status: 'HEALTHY',
    clusterId: 'Kubernetes',
    capacity: 1,
    labels: {},
    ...overrides,
  };
}

export function service(name: string, overrides: Partial<MeshService> = {}): MeshService {
  const namespace = overrides.namespace ?? 'default';
  return {
    name,
    namespace,
    hostname: `${name}.${namespace}.svc.cluster.local`,
    addresses: [],
    ports: [],
    ...overrides,
  };
}

export function match(overrides: Partial<AuthorizationMatch> = {}): AuthorizationMatch {
  return {
    namespaces: [],
    notNamespaces: [],
    principals: [],
    notPrincipals: [],
    sourceIps: [],
    notSourceIps: [],
    destinationIps: [],
    notDestinationIps: [],
    destinationPorts: [],
    notDestinationPorts: [],
    ...overrides,
  };
}

/** A policy with one rule of one clause holding the given matches (the shape of one `from` entry). */
export function policy(
  namespace: string,
  name: string,
  action: 'ALLOW' | 'DENY',
  matches: AuthorizationMatch[],
  scope: MeshAuthorization['scope'] = 'NAMESPACE',
): MeshAuthorization {
  return { name, namespace, scope, action, rules: [{ clauses: [{ matches }] }] };
}

export function snapshot(
  workloads: MeshWorkload[],
  services: MeshService[] = [],
  authorizations: MeshAuthorization[] = [],
): MeshSnapshot {
  return {
    workloads: new Map(workloads.map((w) => [w.uid, w])),
    services: new Map(services.map((s) => [`${s.namespace}/${s.hostname}`, s])),
    authorizations: new Map(authorizations.map((a) => [`${a.namespace}/${a.name}`, a])),
  };
}
