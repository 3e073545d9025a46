// One full computation of the mesh model from the stored resources: workloads, services with their
// VIPs and endpoints, and authorization policies attached to the workloads they select.
import { MESH_ROOT_NAMESPACE, authorizationResourceName, type MeshAuthorization, type MeshService, type MeshTelemetry, type MeshWorkload } from '../../api/mesh.js';
import { convertAuthorizationPolicy, type ConvertedPolicy } from './authorization.js';
import { selectorMatches } from '../../api/labels.js';
import type { RegistryInput, ResolvedOptions } from './options.js';
import { convertPeerAuthentications } from './peer-authentication.js';
import { serviceEntryEndpoints } from './service-entries.js';
import { bindEndpoints, kubernetesService, serviceEntryServices, type ServiceDraft } from './services.js';
import type { VipAllocations } from './vip-allocator.js';
import { namespaceLabels } from './waypoints.js';
import { convertTelemetries } from './telemetries.js';
import { podWorkload, workloadEntryWorkload, type WorkloadDraft } from './workloads.js';

export interface ComputedMesh {
  workloads: Map<string, MeshWorkload>;
  services: Map<string, MeshService>;
  authorizations: Map<string, MeshAuthorization>;
  /** Telemetry resources, by `namespace/name`. */
  telemetries: Map<string, MeshTelemetry>;
  /** Every policy resource considered, with what became of it (for registryz). */
  policies: ConvertedPolicy[];
  /** Problems an operator should know about (VIP range exhausted, duplicate hostnames, ...). */
  warnings: string[];
}

function byKey<T>(items: Array<[string, T]>): Map<string, T> {
  return new Map(items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

export function computeMesh(input: RegistryInput, opts: ResolvedOptions, vips: VipAllocations): ComputedMesh {
  const warnings: string[] = [];
  const nsLabels = namespaceLabels(input.list('Namespace'));

  const drafts: WorkloadDraft[] = [];
  for (const pod of input.list('Pod')) {
    const d = podWorkload(pod, opts);
    if (d) drafts.push(d);
  }
  for (const we of input.list('WorkloadEntry')) {
    const d = workloadEntryWorkload(we, opts);
    if (d) drafts.push(d);
  }

  let services: ServiceDraft[] = [];
  for (const svc of input.list('Service')) services.push(kubernetesService(svc, nsLabels));
  for (const se of input.list('ServiceEntry')) {
    const seServices = serviceEntryServices(se, nsLabels);
    services.push(...seServices);
    drafts.push(...serviceEntryEndpoints(se, seServices, opts));
  }

  // VIPs: explicit addresses are reserved so an allocated VIP never shadows a declared one.
  const reserved = new Set(services.flatMap((s) => (s.needsVip ? [] : s.service.addresses)));
  const allocated = vips.sync(
    services.filter((s) => s.needsVip).map((s) => s.key),
    reserved,
  );
  for (const key of vips.exhausted) {
    warnings.push(`no VIP for ${key}: the VIP range ${vips.range} is exhausted; widen vipRange or give the service an address`);
  }
  for (const s of services) {
    const vip = s.needsVip ? allocated.get(s.key) : undefined;
    if (vip) s.service.addresses = [vip];
  }
  const pending = vips.pending;
  if (pending && pending.size > 0) services = services.filter((s) => !(s.needsVip && !allocated.has(s.key) && pending.has(s.key)));

  bindEndpoints(services, drafts);

  const policies = [
    ...input.list('AuthorizationPolicy').map(convertAuthorizationPolicy),
    ...convertPeerAuthentications(input.list('PeerAuthentication')),
  ];
  for (const p of policies) {
    if (!p.policy || !p.selector) continue;
    const key = authorizationResourceName(p.policy);
    for (const d of drafts) {
      // Selector policies in the root namespace select workloads in every namespace.
      if (p.namespace !== MESH_ROOT_NAMESPACE && d.workload.namespace !== p.namespace) continue;
      if (selectorMatches(p.selector, d.allLabels)) d.workload.authorizationPolicies.push(key);
    }
  }
  for (const d of drafts) d.workload.authorizationPolicies.sort();

  const workloadEntries: Array<[string, MeshWorkload]> = [];
  const seenUids = new Set<string>();
  for (const d of drafts) {
    if (seenUids.has(d.workload.uid)) warnings.push(`duplicate workload ${d.workload.uid}: the later definition wins`);
    seenUids.add(d.workload.uid);
    workloadEntries.push([d.workload.uid, d.workload]);
  }
  const serviceEntries: Array<[string, MeshService]> = [];
  const seenKeys = new Set<string>();
  for (const s of services) {
    if (seenKeys.has(s.key)) warnings.push(`hostname ${s.key} is defined twice (Service and ServiceEntry?): the ${s.source} wins`);
    seenKeys.add(s.key);
    serviceEntries.push([s.key, s.service]);
  }
  const authorizations: Array<[string, MeshAuthorization]> = [];
  for (const p of policies) if (p.policy) authorizations.push([authorizationResourceName(p.policy), p.policy]);

  return {
    workloads: byKey(dedupeLastWins(workloadEntries)),
    services: byKey(dedupeLastWins(serviceEntries)),
    authorizations: byKey(dedupeLastWins(authorizations)),
    telemetries: convertTelemetries(input.list('Telemetry')),
    policies,
    warnings,
  };
}

function dedupeLastWins<T>(entries: Array<[string, T]>): Array<[string, T]> {
  return [...new Map(entries)];
}
