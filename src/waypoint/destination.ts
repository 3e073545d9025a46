// From a chosen route destination to one endpoint: resolve the destination service and port, apply the
// DestinationRule subset and load-balancing policy; "no route" falls back to the service's own endpoints.
import type { MeshService } from '../api/mesh.js';
import { serviceResourceName } from '../api/mesh.js';
import type { Endpoint, ProxyState } from '../dataplane/state/proxy-state.js';
import { PolicyBalancer, subsetEndpoints } from './load-balancer.js';
import type { CompiledDestination, RouteTable } from './route-config.js';

export type Resolution =
  | { ok: true; service: MeshService; endpoint: Endpoint; subset?: string; servicePort: number }
  /** 503 `no healthy upstream` (response flag UH); `service` is set when the service itself was found. */
  | { ok: false; service?: MeshService; reason: string; servicePort: number };

export interface DestinationResolverDeps {
  state: Pick<ProxyState, 'serviceByHostname' | 'endpointsOf'>;
  balancer: PolicyBalancer;
  routes(): RouteTable;
}

export class DestinationResolver {
  constructor(private readonly deps: DestinationResolverDeps) {}

  /**
   * Resolves `destination` (or, when undefined, the service the request was for) to one endpoint.
   * `requestPort` is the service port the request arrived on; a destination without a port keeps it.
   */
  resolve(destination: CompiledDestination | undefined, service: MeshService, requestPort: number): Resolution {
    const host = destination?.host ?? service.hostname;
    const target = host === service.hostname ? service : this.deps.state.serviceByHostname(host);
    const servicePort = destination?.port ?? requestPort;
    if (!target) return { ok: false, reason: `destination host ${host} is not a known service`, servicePort };
    const table = this.deps.routes();
    const rule = table.destinationRule(target.hostname);
    const subsetName = destination?.subset;
    const subset = subsetName ? rule?.subsets.get(subsetName) : undefined;
    if (subsetName && !subset) {
      return { ok: false, service: target, reason: `subset ${subsetName} of ${target.hostname} is not defined by any DestinationRule`, servicePort };
    }
    const all = this.deps.state.endpointsOf(serviceResourceName(target), servicePort);
    const candidates = subsetEndpoints(all, subset);
    const policy = table.loadBalancer(target.hostname, subsetName, servicePort);
    const endpoint = this.deps.balancer.pick(`${serviceResourceName(target)}|${subsetName ?? ''}|${servicePort}`, candidates, policy);
    if (!endpoint) {
      const which = subsetName ? `subset ${subsetName} of ${target.hostname}` : target.hostname;
      return { ok: false, service: target, reason: `no healthy upstream: ${which} port ${servicePort} has no healthy endpoint`, servicePort };
    }
    return { ok: true, service: target, endpoint, subset: subsetName, servicePort };
  }
}
