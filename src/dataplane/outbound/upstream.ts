// How one outbound attempt reaches the route it was given: an HBONE tunnel through the destination's node
// proxy (or the service's waypoint), TLS + istio-peer-exchange to a sidecar, or plain TCP outside the mesh.
import type { Duplex } from 'node:stream';
import type { MeshWorkload } from '../../api/mesh.js';
import type { HboneClientPool, HboneConnectRequest, HboneDialVia } from '../hbone/client-pool.js';
import { formatBaggage, hboneRequestHeaders, workloadBaggage } from '../hbone/headers.js';
import type { ExchangeResult } from '../mx/handshake.js';
import type { SidecarDialer } from '../mx/legacy-mtls-client.js';
import { dialTcp } from '../dial.js';
import type { Route } from './route.js';

/** The upstream side of a connection; `exchange` when it is a sidecar's TLS socket after the peer exchange. */
export interface Upstream {
  stream: Duplex;
  exchange?: ExchangeResult;
}

/** netns mode: where a source workload's connections are made from (its pod's namespace, its pod IP). */
export interface SourceNamespaces {
  /** undefined: the workload has no namespace of its own here; dial from this process's. */
  viaFor(source: MeshWorkload): HboneDialVia | undefined;
}

export interface UpstreamDialerDeps {
  pool: HboneClientPool;
  /** TLS + istio-peer-exchange to LEGACY_ISTIO_MTLS (sidecar) destinations; without it they are refused. */
  sidecars?: SidecarDialer;
  fromPod?: SourceNamespaces;
}

/** Whom the attempt is made for: the source workload and the client's socket address. */
export interface UpstreamSource {
  workload: MeshWorkload;
  identity: string;
  clientIp: string;
  clientPort: number;
  /** A traced connection's sampled `traceparent`, sent instead of a new one. */
  traceparent?: string;
  /** Told which pooled HBONE connection carries the tunnel (traced connections). */
  onReserved?(session: { reused: boolean; streamsOpened: number }): void;
}

export class UpstreamDialer {
  /** Baggage per source workload object (a new object arrives with every change to the workload). */
  private readonly baggage = new WeakMap<MeshWorkload, string>();

  constructor(private readonly deps: UpstreamDialerDeps) {}

  async connect(route: Route, source: UpstreamSource): Promise<Upstream> {
    if (route.sidecar && this.deps.sidecars) {
      const { socket, exchange } = await this.deps.sidecars.dial({
        source: source.workload,
        sourceIdentity: source.identity,
        destinationIdentity: route.destinationIdentity,
        host: route.sidecar.host,
        port: route.sidecar.port,
        hostname: route.sidecar.hostname,
        servicePort: route.sidecar.servicePort,
      });
      return { stream: socket, exchange };
    }
    const via = this.deps.fromPod?.viaFor(source.workload);
    if (!route.hbone) {
      const [ip, port] = splitAuthority(route.authority);
      return { stream: via ? await via.connect(ip, port) : await dialTcp(ip, port, { pooledReads: true }) };
    }
    const request: HboneConnectRequest = {
      ...(via ? { via } : {}),
      srcIdentity: source.identity,
      dstIdentity: route.destinationIdentity,
      dstNode: route.hbone.node,
      proxyAddress: { host: route.hbone.host, port: route.hbone.port },
      authority: route.authority,
      // `forwarded` names the source workload by its pod IP: in local mode the client's socket address is
      // 127.0.0.1, which would tell the destination nothing.
      headers: hboneRequestHeaders(
        this.baggageOf(source.workload),
        { ip: source.workload.addresses[0] ?? source.clientIp, port: source.clientPort },
        source.traceparent,
      ),
    };
    if (source.onReserved) request.onReserved = source.onReserved;
    return { stream: await this.deps.pool.connect(request) };
  }

  private baggageOf(source: MeshWorkload): string {
    let baggage = this.baggage.get(source);
    if (baggage === undefined) {
      baggage = formatBaggage(workloadBaggage(source));
      this.baggage.set(source, baggage);
    }
    return baggage;
  }
}

function splitAuthority(authority: string): [string, number] {
  const i = authority.lastIndexOf(':');
  return [authority.slice(0, i).replace(/^\[|\]$/g, ''), Number(authority.slice(i + 1))];
}
