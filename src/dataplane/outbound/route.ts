// Where one outbound connection attempt goes: a service's endpoint (round robin, skipping ejected and
// already-tried destinations) or its waypoint, and how it is reached (HBONE, sidecar TLS, plain TCP).
import type { MeshService, MeshWorkload } from '../../api/mesh.js';
import { serviceResourceName } from '../../api/mesh.js';
import { L4meshError } from '../../errors/index.js';
import { formatHboneAuthority } from '../hbone/authority.js';
import { RoundRobinBalancer, selectEndpoint } from '../lb.js';
import type { OutlierDetector } from '../outlier-detection.js';
import type { Endpoint, ProxyState } from '../state/proxy-state.js';
import { HBONE_PORT, INBOUND_PORT } from '../../config/mesh-constants.js';

export interface Route {
  destination: MeshWorkload;
  destinationIdentity: string;
  /** Where the bytes go: `ip:port` of the endpoint (or the service VIP:port through a waypoint). */
  authority: string;
  hbone?: { host: string; port: number; node: string };
  /** The destination's sidecar (INBOUND_PORT at its pod IP) and the service port SNI names there. */
  sidecar?: { host: string; port: number; hostname: string; servicePort: number };
}

export interface RouteDeps {
  state: ProxyState;
  outliers: OutlierDetector;
  /** Address of the node proxy of `node` (its HBONE listener host). */
  nodeProxyAddress(node: string): string | undefined;
  /** Whether LEGACY_ISTIO_MTLS (sidecar) destinations can be reached. */
  sidecars: boolean;
  /**
   * netns mode: HBONE goes to the destination pod's own IP (its node proxy listens there, inside the pod's
   * namespace), not to a node proxy address.
   */
  hboneToPodIp?: boolean;
}

/** The outlier key of an endpoint itself (a workload not listening behind a healthy proxy). */
export function endpointKey(route: Route): string {
  return `endpoint ${route.destination.uid} ${route.authority}`;
}

/** The outlier key of the hop a route dials first: the node proxy, the sidecar, or the workload itself. */
export function targetKey(route: Route): string {
  if (route.hbone) return `proxy ${route.hbone.host}:${route.hbone.port}`;
  if (route.sidecar) return `proxy ${route.sidecar.host}:${route.sidecar.port}`;
  return endpointKey(route);
}

export class RouteResolver {
  private readonly balancer = new RoundRobinBalancer();

  constructor(private readonly deps: RouteDeps) {}

  /**
   * Chooses where an attempt goes; throws an L4meshError the caller logs. `tried` (workload uids this
   * connection already failed on) are never chosen again; ejected destinations only when nothing else is
   * left, as Envoy's panic mode does rather than refusing every connection.
   */
  route(service: MeshService, port: number, tried: ReadonlySet<string>): Route {
    const { state, outliers } = this.deps;
    const waypoint = state.waypointFor(service);
    const wpPort = waypoint ? waypoint.gateway.hboneMtlsPort || HBONE_PORT : undefined;
    const skipTried = tried.size > 0 ? (e: Endpoint) => tried.has(e.workload.uid) : undefined;
    const skip = outliers.empty ? skipTried : (e: Endpoint) => tried.has(e.workload.uid) || this.ejected(service, port, e, wpPort);
    if (waypoint) {
      const key = `waypoint|${serviceResourceName(service)}`;
      const wp = this.balancer.pick(key, waypoint.endpoints, skip) ?? (skip === skipTried ? undefined : this.balancer.pick(key, waypoint.endpoints, skipTried));
      if (!wp) {
        throw new L4meshError('L4MESH_ERR_NO_HEALTHY_UPSTREAM', `no healthy waypoint for service ${service.hostname} (waypoint ${waypoint.gateway.hostname?.hostname ?? '?'})`);
      }
      return this.viaWaypoint(service, port, wp, wpPort!);
    }
    const key = serviceResourceName(service);
    let endpoint: Endpoint;
    try {
      endpoint = selectEndpoint(state, this.balancer, key, port, skip);
    } catch (err) {
      if (skip === skipTried) throw err;
      endpoint = selectEndpoint(state, this.balancer, key, port, skipTried);
    }
    return this.toEndpoint(service, port, endpoint);
  }

  /**
   * netns mode: a connection to a workload's own IP (not a service VIP) goes to that workload, HBONE when it
   * is in the mesh, plain TCP when not.
   */
  toWorkload(dst: MeshWorkload, ip: string, port: number): Route {
    const destinationIdentity = this.deps.state.identityOf(dst);
    const authority = formatHboneAuthority(ip, port);
    if (dst.tunnelProtocol === 'NONE') return { destination: dst, destinationIdentity, authority };
    if (dst.tunnelProtocol === 'LEGACY_ISTIO_MTLS' || !this.deps.hboneToPodIp) {
      throw new L4meshError('L4MESH_ERR_PROTOCOL', `${dst.namespace}/${dst.name} at ${ip} is reached by pod IP only in netns mode and only through its node proxy (not its sidecar)`);
    }
    return { destination: dst, destinationIdentity, authority, hbone: { host: ip, port: HBONE_PORT, node: dst.node } };
  }

  /** Whether a service endpoint (no waypoint), or the node proxy in front of it, is ejected now. */
  isEjected(service: MeshService, port: number, e: Endpoint): boolean {
    return !this.deps.outliers.empty && this.ejected(service, port, e, undefined);
  }

  /** Whether an endpoint, or the hop in front of it, is ejected. */
  private ejected(service: MeshService, port: number, e: Endpoint, waypointPort: number | undefined): boolean {
    const { outliers } = this.deps;
    try {
      const route = waypointPort !== undefined ? this.viaWaypoint(service, port, e, waypointPort) : this.toEndpoint(service, port, e);
      return outliers.isEjected(targetKey(route)) || outliers.isEjected(endpointKey(route));
    } catch {
      return false;
    }
  }

  private viaWaypoint(service: MeshService, port: number, wp: Endpoint, hbonePort: number): Route {
    const vip = service.addresses[0];
    if (!vip) throw new L4meshError('L4MESH_ERR_NO_HEALTHY_UPSTREAM', `service ${service.hostname} has no VIP to send through its waypoint`);
    const host = wp.workload.addresses[0]!;
    return {
      destination: wp.workload,
      destinationIdentity: this.deps.state.identityOf(wp.workload),
      authority: formatHboneAuthority(vip, port),
      hbone: { host, port: hbonePort, node: `waypoint/${host}` },
    };
  }

  private toEndpoint(service: MeshService, port: number, endpoint: Endpoint): Route {
    const dst = endpoint.workload;
    const ip = dst.addresses[0]!;
    const authority = formatHboneAuthority(ip, endpoint.targetPort);
    const destinationIdentity = this.deps.state.identityOf(dst);
    if (dst.tunnelProtocol === 'NONE') return { destination: dst, destinationIdentity, authority };
    if (dst.tunnelProtocol === 'LEGACY_ISTIO_MTLS') {
      if (!this.deps.sidecars) {
        throw new L4meshError('L4MESH_ERR_PROTOCOL', `destination ${dst.name} runs a sidecar (LEGACY_ISTIO_MTLS); this proxy was started without istio-peer-exchange`);
      }
      return { destination: dst, destinationIdentity, authority, sidecar: { host: ip, port: INBOUND_PORT, hostname: service.hostname, servicePort: port } };
    }
    if (this.deps.hboneToPodIp) return { destination: dst, destinationIdentity, authority, hbone: { host: ip, port: HBONE_PORT, node: dst.node } };
    const proxy = this.deps.nodeProxyAddress(dst.node);
    if (!proxy) {
      throw new L4meshError('L4MESH_ERR_NO_HEALTHY_UPSTREAM', `no node proxy known for node "${dst.node}" of ${dst.name} — is "l4mesh ztunnel --node ${dst.node}" running?`);
    }
    return { destination: dst, destinationIdentity, authority, hbone: { host: proxy, port: HBONE_PORT, node: dst.node } };
  }
}
