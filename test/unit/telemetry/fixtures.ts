// Shared mesh objects for the telemetry unit tests: a productpage → ratings connection.
import type { MeshService, MeshWorkload } from '../../../src/api/mesh.js';

export function workload(name: string, ns: string, overrides: Partial<MeshWorkload> = {}): MeshWorkload {
  const [app, version] = [name.replace(/-v\d+$/, ''), name.match(/-(v\d+)$/)?.[1] ?? 'v1'];
  return {
    uid: `Kubernetes//Pod/${ns}/${name}-0`,
    name: `${name}-0`,
    namespace: ns,
    addresses: ['127.0.10.1'],
    hostname: '',
    network: '',
    tunnelProtocol: 'HBONE',
    trustDomain: 'cluster.local',
    serviceAccount: `bookinfo-${app}`,
    node: 'node-a',
    canonicalName: app,
    canonicalRevision: version,
    workloadType: 'DEPLOYMENT',
    workloadName: name,
    services: {},
    authorizationPolicies: [],
    status: 'HEALTHY',
    clusterId: 'Kubernetes',
    capacity: 1,
    labels: { app, version },
    ...overrides,
  };
}

export const productpage = workload('productpage-v1', 'default');
export const ratings = workload('ratings-v2', 'default');
export const ratingsService: MeshService = {
  name: 'ratings',
  namespace: 'default',
  hostname: 'ratings.default.svc.cluster.local',
  addresses: ['10.96.0.20'],
  ports: [{ servicePort: 9080, targetPort: 9080 }],
};

/** The exposition's label text for a label object, in its key order. */
export function labelText(labels: Record<string, string>): string {
  return '{' + Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',') + '}';
}
