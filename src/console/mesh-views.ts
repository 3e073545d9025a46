// What the console's pages show about the mesh, computed from the control plane's /debug/registryz and the
// node proxies' config dumps: workloads with their identity and certificate, services, and the policies
// (AuthorizationPolicy, PeerAuthentication) with the workloads each one selects.
import { selectorMatches, type Labels } from '../api/labels.js';
import { MESH_ROOT_NAMESPACE, type MeshAuthorization, type MeshService, type MeshWorkload } from '../api/mesh.js';
import type { CertificateDump } from '../localrun/node-admin.js';

/** The parts of /debug/registryz the console reads (src/controlplane/registry/registry.ts writes it). */
export interface Registryz {
  workloads: Array<Partial<MeshWorkload> & { namespace: string; name: string }>;
  services?: Array<MeshService & { endpoints: Array<{ name: string; namespace: string; addresses: string[]; node: string; status: string }> }>;
  policies?: MeshAuthorization[];
  policySources?: Array<{ kind: string; namespace: string; name: string; converted?: string; selector?: Labels; skipped?: string; notes: string[] }>;
}

/** One pod of a workload as its details panel shows it. */
export interface PodDetails {
  name: string;
  addresses: string[];
  node: string;
  status: string;
  identity: string;
  /** The certificate the pod's node proxy holds for that identity (as `ztunnel-config certificates`), or null. */
  certificate: { state: string; serial: string | null; notBefore: string | null; notAfter: string | null } | null;
}

/** A node proxy's certificates, keyed by the node it runs on. */
export type CertificatesByNode = ReadonlyMap<string, readonly CertificateDump[]>;

export function workloadNameOf(w: { workloadName?: string; name: string }): string {
  return w.workloadName || w.name;
}

/** The SPIFFE identity of a pod: trust domain, namespace and service account, as the CA issues it. */
export function identityOf(w: Partial<MeshWorkload> & { namespace: string }): string {
  return `spiffe://${w.trustDomain || 'cluster.local'}/ns/${w.namespace}/sa/${w.serviceAccount || 'default'}`;
}

/** The pods of workload `namespace/name`, each with its identity and the certificate of its node's proxy. */
export function podsOf(registry: Registryz, namespace: string, name: string, certs: CertificatesByNode): PodDetails[] {
  return registry.workloads
    .filter((w) => w.namespace === namespace && workloadNameOf(w) === name)
    .map((w) => {
      const identity = identityOf(w);
      const cert = (certs.get(w.node ?? '') ?? []).find((c) => c.identity === identity);
      const leaf = cert?.certChain[0];
      return {
        name: w.name,
        addresses: w.addresses ?? [],
        node: w.node ?? '',
        status: w.status ?? '',
        identity,
        certificate: cert ? { state: cert.state, serial: leaf?.serialNumber ?? null, notBefore: leaf?.validFrom ?? null, notAfter: leaf?.expirationTime ?? null } : null,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface PolicyView {
  kind: string;
  namespace: string;
  name: string;
  /** What the node proxies enforce: ALLOW or DENY, or null when the policy is not enforced at L4. */
  action: string | null;
  scope: string | null;
  selector: Labels | null;
  rules: number;
  /** Why node proxies do not enforce it (waypoint-only, AUDIT/CUSTOM, a PERMISSIVE PeerAuthentication...). */
  skipped: string | null;
  notes: string[];
  /** `namespace/workload` of every workload it applies to, sorted. */
  selects: string[];
}

/**
 * Every AuthorizationPolicy and PeerAuthentication with the workloads it selects: those the control plane
 * bound the converted policy to (WORKLOAD_SELECTOR), the policy's namespace (NAMESPACE) or every workload
 * (GLOBAL); a policy that converts to nothing selects by its own selector and namespace.
 */
export function policiesOf(registry: Registryz): PolicyView[] {
  const converted = new Map((registry.policies ?? []).map((p) => [`${p.namespace}/${p.name}`, p]));
  const workloads = registry.workloads;
  const names = (ws: typeof workloads) => [...new Set(ws.map((w) => `${w.namespace}/${workloadNameOf(w)}`))].sort();
  const inScope = (ns: string) => (w: (typeof workloads)[number]) => ns === MESH_ROOT_NAMESPACE || w.namespace === ns;
  return (registry.policySources ?? [])
    .map((src) => {
      const policy = src.converted ? converted.get(src.converted) : undefined;
      let selected: typeof workloads;
      if (policy?.scope === 'WORKLOAD_SELECTOR') selected = workloads.filter((w) => (w.authorizationPolicies ?? []).includes(src.converted!));
      else if (policy?.scope === 'GLOBAL') selected = workloads;
      else if (policy) selected = workloads.filter((w) => w.namespace === policy.namespace);
      else selected = workloads.filter(inScope(src.namespace)).filter((w) => !src.selector || selectorMatches(src.selector, w.labels ?? {}));
      return {
        kind: src.kind,
        namespace: src.namespace,
        name: src.name,
        action: policy?.action ?? null,
        scope: policy?.scope ?? null,
        selector: src.selector ?? null,
        rules: policy?.rules.length ?? 0,
        skipped: src.skipped ?? null,
        notes: src.notes,
        selects: names(selected),
      };
    })
    .sort((a, b) => `${a.namespace}/${a.kind}/${a.name}`.localeCompare(`${b.namespace}/${b.kind}/${b.name}`));
}

export interface ServiceView {
  namespace: string;
  name: string;
  hostname: string;
  addresses: string[];
  ports: string[];
  waypoint: string | null;
  /** `pod (node, status)` of every endpoint. */
  endpoints: Array<{ pod: string; workload: string; node: string; status: string }>;
}

export function servicesOf(registry: Registryz): ServiceView[] {
  const byUid = new Map(registry.workloads.map((w) => [`${w.namespace}/${w.name}`, w]));
  return (registry.services ?? [])
    .map((s) => ({
      namespace: s.namespace,
      name: s.name,
      hostname: s.hostname,
      addresses: s.addresses,
      ports: s.ports.map((p) => `${p.servicePort}→${p.targetPort}`),
      waypoint: s.waypoint ? (s.waypoint.hostname ? `${s.waypoint.hostname.namespace}/${s.waypoint.hostname.hostname}` : (s.waypoint.address?.address ?? null)) : null,
      endpoints: s.endpoints.map((e) => {
        const w = byUid.get(`${e.namespace}/${e.name}`);
        return { pod: e.name, workload: w ? workloadNameOf(w) : e.name, node: e.node, status: e.status };
      }),
    }))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}
