// Sample mesh objects and a fake MeshSource for the xDS tests (not a test file itself).
import { EventEmitter } from 'node:events';
import type { MeshAuthorization, MeshService, MeshSnapshot, MeshWorkload } from '../../../src/api/mesh.js';
import type { MeshSource } from '../../../src/controlplane/registry/source.js';

export function workload(name: string, ip: string, extra: Partial<MeshWorkload> = {}): MeshWorkload {
  return {
    uid: `Kubernetes//Pod/default/${name}`,
    name,
    namespace: 'default',
    addresses: [ip],
    hostname: '',
    network: '',
    tunnelProtocol: 'HBONE',
    trustDomain: 'cluster.local',
    serviceAccount: 'bookinfo-ratings',
    node: 'node-a',
    canonicalName: 'ratings',
    canonicalRevision: 'v1',
    workloadType: 'DEPLOYMENT',
    workloadName: 'ratings-v1',
    services: { 'default/ratings.default.svc.cluster.local': [{ servicePort: 9080, targetPort: 9080 }] },
    authorizationPolicies: [],
    status: 'HEALTHY',
    clusterId: 'Kubernetes',
    capacity: 1,
    labels: { app: 'ratings', version: 'v1' },
    ...extra,
  };
}

export function service(name: string, vip: string, extra: Partial<MeshService> = {}): MeshService {
  return {
    name,
    namespace: 'default',
    hostname: `${name}.default.svc.cluster.local`,
    addresses: [vip],
    ports: [{ servicePort: 9080, targetPort: 9080 }],
    ...extra,
  };
}

export function authorization(name: string, extra: Partial<MeshAuthorization> = {}): MeshAuthorization {
  return {
    name,
    namespace: 'default',
    scope: 'NAMESPACE',
    action: 'DENY',
    rules: [
      {
        clauses: [
          {
            matches: [
              {
                namespaces: [{ exact: 'evil' }],
                notNamespaces: [],
                principals: [],
                notPrincipals: [],
                sourceIps: [],
                notSourceIps: [],
                destinationIps: [],
                notDestinationIps: [],
                destinationPorts: [9080],
                notDestinationPorts: [],
              },
            ],
          },
        ],
      },
    ],
    ...extra,
  };
}

/** A MeshSource whose snapshot tests replace by hand; `set()` emits 'change' like the registry. */
export class FakeMeshSource extends EventEmitter implements MeshSource {
  private snap: MeshSnapshot = { workloads: new Map(), services: new Map(), authorizations: new Map() };

  current(): MeshSnapshot {
    return this.snap;
  }
  identitiesOnNode(): Set<string> {
    return new Set();
  }
  set(items: { workloads?: MeshWorkload[]; services?: MeshService[]; authorizations?: MeshAuthorization[] }): void {
    this.snap = {
      workloads: new Map((items.workloads ?? []).map((w) => [w.uid, w])),
      services: new Map((items.services ?? []).map((s) => [`${s.namespace}/${s.hostname}`, s])),
      authorizations: new Map((items.authorizations ?? []).map((a) => [`${a.namespace}/${a.name}`, a])),
    };
    this.emit('change');
  }
}
