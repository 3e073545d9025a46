// Connections from the waypoint to a chosen endpoint: HBONE through the endpoint's node proxy with the
// waypoint's own identity, or plain TCP for a workload outside the mesh.
import type { Duplex } from 'node:stream';
import type { MeshWorkload } from '../api/mesh.js';
import { L4meshError } from '../errors/index.js';
import type { HboneClientPool } from '../dataplane/hbone/client-pool.js';
import { formatHboneAuthority } from '../dataplane/hbone/authority.js';
import { hboneRequestHeaders, workloadBaggage } from '../dataplane/hbone/headers.js';
import type { Endpoint, ProxyState } from '../dataplane/state/proxy-state.js';
import { dialTcp } from '../dataplane/dial.js';
import { HBONE_PORT } from '../config/mesh-constants.js';
import { nodeProxyAddressIn } from '../dataplane/outbound/node-proxy-address.js';

export interface UpstreamTarget {
  /** `ip:port` of the endpoint. */
  addr: string;
  /** The node proxy's HBONE listener, when tunnelled. */
  tunnelAddr?: string;
  identity: string;
}

export interface UpstreamConnectorDeps {
  state: ProxyState;
  pool: HboneClientPool;
  /** The waypoint's SPIFFE id: what it presents to node proxies. */
  identity(): string;
  /** The waypoint's own workload (for `baggage`), and its address (for `forwarded`). */
  self(): MeshWorkload | undefined;
  address: string;
  /** netns mode: tunnel to the endpoint's pod IP (its node proxy listens there inside the pod), not to its node's address. */
  hboneToPodIp: boolean;
}

export class UpstreamConnector {
  constructor(private readonly deps: UpstreamConnectorDeps) {}

  /** Node proxies are workloads in istio-system labelled app=ztunnel; else local mode's node-k address. */
  nodeProxyAddress(node: string): string | undefined {
    return nodeProxyAddressIn(this.deps.state, node);
  }

  /** Where HBONE for workload `w` goes: its pod IP in netns mode, else its node's proxy. */
  private hboneHost(w: MeshWorkload): string | undefined {
    return this.deps.hboneToPodIp ? w.addresses[0] : this.nodeProxyAddress(w.node);
  }

  target(endpoint: Endpoint): UpstreamTarget {
    const w = endpoint.workload;
    const addr = formatHboneAuthority(w.addresses[0] ?? '', endpoint.targetPort);
    const identity = this.deps.state.identityOf(w);
    if (w.tunnelProtocol !== 'HBONE') return { addr, identity };
    const proxy = this.hboneHost(w);
    return { addr, identity, tunnelAddr: proxy ? formatHboneAuthority(proxy, HBONE_PORT) : undefined };
  }

  /** Opens a byte stream to the endpoint; rejects with an L4meshError saying what to check. `traceparent` continues a traced tunnel. */
  async connect(endpoint: Endpoint, traceparent?: string): Promise<Duplex> {
    const w = endpoint.workload;
    const ip = w.addresses[0];
    if (!ip) throw new L4meshError('L4MESH_ERR_NO_HEALTHY_UPSTREAM', `endpoint ${w.name} has no address`);
    if (w.tunnelProtocol === 'NONE') return dialTcp(ip, endpoint.targetPort);
    if (w.tunnelProtocol === 'LEGACY_ISTIO_MTLS') {
      throw new L4meshError('L4MESH_ERR_PROTOCOL', `endpoint ${w.name} runs a sidecar (LEGACY_ISTIO_MTLS); the waypoint reaches only HBONE and plain workloads`);
    }
    const proxy = this.hboneHost(w);
    if (!proxy) {
      throw new L4meshError('L4MESH_ERR_NO_HEALTHY_UPSTREAM', `no node proxy known for node "${w.node}" of ${w.name} — is "l4mesh ztunnel --node ${w.node}" running?`);
    }
    return this.deps.pool.connect({
      srcIdentity: this.deps.identity(),
      dstIdentity: this.deps.state.identityOf(w),
      dstNode: w.node,
      proxyAddress: { host: proxy, port: HBONE_PORT },
      authority: formatHboneAuthority(ip, endpoint.targetPort),
      // The waypoint is the TCP peer the destination sees, so it names itself (its identity is what mTLS proves).
      headers: hboneRequestHeaders(workloadBaggage(this.deps.self()), { ip: this.deps.address, port: 0 }, traceparent),
    });
  }
}
