// The workloads a ServiceEntry declares inline (`spec.endpoints`): each endpoint is a workload that
// backs every host of the entry.
import { isIP } from 'node:net';
import { DEFAULT_SERVICE_ACCOUNT, canonicalName, canonicalRevision } from '../../api/derive.js';
import type { MeshWorkload } from '../../api/mesh.js';
import type { Resource } from '../../api/types.js';
import { ANNOTATION_NODE, stringMap, telemetryLabels } from '../../api/labels.js';
import type { ResolvedOptions } from './options.js';
import { endpointPortMappings } from './ports.js';
import type { ServiceDraft } from './services.js';
import { tunnelProtocolOf, type WorkloadDraft } from './workloads.js';


/**
 * Workloads for `spec.endpoints` of a ServiceEntry. `services` are the entry's drafts (one per host);
 * endpoints of a MESH_EXTERNAL entry have no proxy, so they are reached in plain TCP.
 */
export function serviceEntryEndpoints(se: Resource, services: ServiceDraft[], opts: ResolvedOptions): WorkloadDraft[] {
  const spec = se.spec ?? {};
  const endpoints = Array.isArray(spec['endpoints']) ? (spec['endpoints'] as Array<Record<string, unknown>>) : [];
  if (endpoints.length === 0 || spec['workloadSelector']) return []; // Istio: endpoints and workloadSelector are exclusive
  const namespace = se.metadata.namespace ?? 'default';
  const name = se.metadata.name;
  const external = spec['location'] === 'MESH_EXTERNAL';
  const annotations = stringMap(se.metadata.annotations);
  const out: WorkloadDraft[] = [];
  const seen = new Set<string>();
  for (const ep of endpoints) {
    const address = typeof ep?.['address'] === 'string' ? ep['address'] : '';
    if (!address || seen.has(address)) continue;
    seen.add(address);
    const labels = stringMap(ep['labels']);
    const namedPorts: Record<string, number> = {};
    for (const [k, v] of Object.entries(stringOrNumberMap(ep['ports']))) namedPorts[k] = v;
    const workload: MeshWorkload = {
      uid: `${opts.clusterId}/networking.istio.io/ServiceEntry/${namespace}/${name}/${address}`,
      name,
      namespace,
      addresses: isIP(address) ? [address] : [],
      hostname: isIP(address) ? '' : address,
      network: typeof ep['network'] === 'string' ? ep['network'] : opts.network,
      tunnelProtocol: external ? 'NONE' : tunnelProtocolOf(labels, {}),
      trustDomain: opts.trustDomain,
      serviceAccount: typeof ep['serviceAccount'] === 'string' && ep['serviceAccount'] ? ep['serviceAccount'] : DEFAULT_SERVICE_ACCOUNT,
      node: annotations[ANNOTATION_NODE] ?? '',
      canonicalName: canonicalName(labels, name),
      canonicalRevision: canonicalRevision(labels),
      workloadType: 'POD',
      workloadName: name,
      services: {},
      authorizationPolicies: [],
      status: 'HEALTHY',
      clusterId: opts.clusterId,
      capacity: typeof ep['weight'] === 'number' && ep['weight'] > 0 ? ep['weight'] : 1,
      labels: telemetryLabels(labels),
    };
    for (const s of services) workload.services[s.key] = endpointPortMappings(s.ports, namedPorts);
    out.push({ workload, allLabels: labels, namedPorts, kind: 'ServiceEntry' });
  }
  return out;
}

function stringOrNumberMap(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v === 'number') out[k] = v;
    }
  }
  return out;
}
