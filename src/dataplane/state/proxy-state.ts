// The node proxy's in-memory view of the mesh: indexes over the xDS snapshot and the lookups the data path makes.
import { EventEmitter } from 'node:events';
import type { GatewayAddress, MeshAuthorization, MeshService, MeshSnapshot, MeshWorkload } from '../../api/mesh.js';
import { DEFAULT_TRUST_DOMAIN } from '../../config/mesh-constants.js';
import { spiffeUri } from '../../identity/spiffe.js';
import { PolicyIndex } from './policy-index.js';
import { ServiceIndex } from './service-index.js';
import { WorkloadIndex } from './workload-index.js';

// Istio's default when a workload names no service account.
const DEFAULT_SERVICE_ACCOUNT = 'default';

/** A place to send a connection for a service: the backing workload and the port it listens on. */
export interface Endpoint {
  workload: MeshWorkload;
  targetPort: number;
}

/**
 * Resource names (the snapshot's map keys) added, updated or removed since the previous update. A kind
 * that is absent or empty is taken as unchanged; omit the whole argument to rebuild everything.
 */
export interface SnapshotChange {
  workloads?: readonly string[];
  services?: readonly string[];
  authorizations?: readonly string[];
}

/**
 * Where a waypoint is reached. `endpoints` is empty when the waypoint is named but unknown or has no healthy
 * instance: the caller must then refuse the connection, never bypass the waypoint (it may enforce policy).
 */
export interface WaypointTarget {
  gateway: GatewayAddress;
  service?: MeshService;
  endpoints: Endpoint[];
}

/** Payload of the 'change' event. */
export interface StateChange {
  full: boolean;
  changed?: SnapshotChange;
}

export class ProxyState extends EventEmitter {
  private readonly workloads = new WorkloadIndex();
  private readonly services = new ServiceIndex();
  private readonly policies = new PolicyIndex();
  // Read on every connection, invalidated by every update: updates are rare next to connections.
  private readonly endpointCache = new Map<string, readonly Endpoint[]>();
  private readonly policyCache = new Map<string, MeshAuthorization[]>();
  /** identityOf() per workload object. */
  private readonly identities = new WeakMap<MeshWorkload, string>();

  /**
   * Brings the indexes in line with `snapshot`. With `changed`, only the named resources are re-read
   * (O(changes)); without, everything is rebuilt (O(n), a few ms for 10,000 workloads). Emits 'change'.
   */
  update(snapshot: MeshSnapshot, changed?: SnapshotChange): void {
    if (!changed) {
      this.workloads.clear();
      for (const workload of snapshot.workloads.values()) this.workloads.upsert(workload);
      this.services.clear();
      for (const [key, service] of snapshot.services) this.services.upsert(key, service);
      this.policies.clear();
      for (const [key, policy] of snapshot.authorizations) this.policies.upsert(key, policy);
    } else {
      for (const uid of changed.workloads ?? []) {
        const workload = snapshot.workloads.get(uid);
        if (workload) this.workloads.upsert(workload);
        else this.workloads.remove(uid);
      }
      for (const key of changed.services ?? []) {
        const service = snapshot.services.get(key);
        if (service) this.services.upsert(key, service);
        else this.services.remove(key);
      }
      for (const key of changed.authorizations ?? []) {
        const policy = snapshot.authorizations.get(key);
        if (policy) this.policies.upsert(key, policy);
        else this.policies.remove(key);
      }
    }
    this.endpointCache.clear();
    this.policyCache.clear();
    const event: StateChange = changed ? { full: false, changed } : { full: true };
    this.emit('change', event);
  }

  workloadByAddress(ip: string): MeshWorkload | undefined {
    return this.workloads.byIp(ip);
  }

  workloadByUid(uid: string): MeshWorkload | undefined {
    return this.workloads.get(uid);
  }

  /** Every workload on the node, healthy or not (the node proxy serves and issues certificates for all), by uid. */
  workloadsOnNode(node: string): readonly MeshWorkload[] {
    return this.workloads.onNode(node);
  }

  /** Every workload, ordered by uid (for config dumps and tables). */
  allWorkloads(): MeshWorkload[] {
    return this.workloads.all();
  }

  serviceByAddress(vip: string): MeshService | undefined {
    return this.services.byAddress(vip);
  }

  /** By resource key `namespace/hostname`. */
  serviceByKey(key: string): MeshService | undefined {
    return this.services.get(key);
  }

  /** A hostname claimed in several namespaces (ServiceEntries can do that) resolves to the smallest key. */
  serviceByHostname(hostname: string): MeshService | undefined {
    return this.services.hostname(hostname);
  }

  /** The services defined in `namespace` only, ordered by name. */
  servicesInNamespace(namespace: string): MeshService[] {
    return this.services.inNamespace(namespace);
  }

  /**
   * The services a workload in `namespace` may connect to. The mesh has no Sidecar-style egress scoping,
   * so that is every service in the mesh, from any namespace, ordered by namespace then name; the argument
   * is kept so scoping can be added without changing callers.
   */
  reachableServices(_namespace: string): readonly MeshService[] {
    return this.services.all();
  }

  /** Every service, ordered by namespace then name. */
  allServices(): readonly MeshService[] {
    return this.services.all();
  }

  /**
   * Healthy workloads backing the service on `servicePort`, ordered by uid. The target port is the
   * workload's own mapping, else the service's, else the service port itself; a workload with no mapping
   * for a port the service does not declare is left out (it never said it serves that port).
   */
  endpointsOf(serviceKey: string, servicePort: number): readonly Endpoint[] {
    const cacheKey = `${serviceKey} ${servicePort}`;
    const cached = this.endpointCache.get(cacheKey);
    if (cached) return cached;
    const servicePortMapping = this.services.get(serviceKey)?.ports.find((p) => p.servicePort === servicePort);
    const endpoints: Endpoint[] = [];
    for (const workload of this.workloads.backing(serviceKey)) {
      if (workload.status !== 'HEALTHY') continue;
      const own = workload.services[serviceKey]?.find((p) => p.servicePort === servicePort);
      const targetPort = own?.targetPort || servicePortMapping?.targetPort || (servicePortMapping && servicePort);
      if (targetPort) endpoints.push({ workload, targetPort });
    }
    this.endpointCache.set(cacheKey, endpoints);
    return endpoints;
  }

  /** Healthy and total backing workloads of a service, for the ENDPOINTS column (`1/2`). */
  endpointCounts(serviceKey: string): { healthy: number; total: number } {
    const backing = this.workloads.backing(serviceKey);
    return { healthy: backing.filter((w) => w.status === 'HEALTHY').length, total: backing.length };
  }

  /**
   * `spiffe://<trust domain>/ns/<namespace>/sa/<service account>` with Istio's defaults for empty fields.
   * Kept per workload object (a changed workload arrives as a new object): every connection asks for both
   * ends' identities, and building the string each time left six string objects per open tunnel.
   */
  identityOf(workload: MeshWorkload): string {
    let id = this.identities.get(workload);
    if (id === undefined) {
      id = spiffeUri(workload.trustDomain || DEFAULT_TRUST_DOMAIN, workload.namespace, workload.serviceAccount || DEFAULT_SERVICE_ACCOUNT);
      this.identities.set(workload, id);
    }
    return id;
  }

  /** GLOBAL, the workload's namespace's NAMESPACE, and its selector policies, ordered by `namespace/name`. */
  policiesFor(workload: MeshWorkload): MeshAuthorization[] {
    const cached = this.policyCache.get(workload.uid);
    if (cached) return cached;
    const policies = this.policies.applicableTo(workload);
    this.policyCache.set(workload.uid, policies);
    return policies;
  }

  policyByKey(key: string): MeshAuthorization | undefined {
    return this.policies.get(key);
  }

  /** Every policy, ordered by `namespace/name`. */
  allPolicies(): MeshAuthorization[] {
    return this.policies.all();
  }

  /**
   * Resolves the waypoint of a service (or workload): a hostname names the waypoint's service, whose healthy
   * workloads are reached on the gateway's HBONE port; an address names a waypoint workload or service VIP.
   * Undefined when the target has no waypoint.
   */
  waypointFor(target: { waypoint?: GatewayAddress }): WaypointTarget | undefined {
    const gateway = target.waypoint;
    if (!gateway) return undefined;
    const port = gateway.hboneMtlsPort;
    if (gateway.hostname) {
      const service = this.services.get(`${gateway.hostname.namespace}/${gateway.hostname.hostname}`);
      if (!service) return { gateway, endpoints: [] };
      return { gateway, service, endpoints: this.waypointEndpoints(service, port) };
    }
    if (gateway.address) {
      const service = this.services.byAddress(gateway.address.address);
      if (service) {
        return { gateway, service, endpoints: this.waypointEndpoints(service, port) };
      }
      const workload = this.workloads.byIp(gateway.address.address);
      return { gateway, endpoints: workload ? this.healthyOn([workload], port) : [] };
    }
    return { gateway, endpoints: [] };
  }

  private waypointEndpoints(service: MeshService, port: number): Endpoint[] {
    return this.healthyOn(this.workloads.backing(`${service.namespace}/${service.hostname}`), port);
  }

  private healthyOn(workloads: readonly MeshWorkload[], port: number): Endpoint[] {
    return workloads.filter((w) => w.status === 'HEALTHY').map((workload) => ({ workload, targetPort: port }));
  }
}
