// The node proxy's netns mode: for each enrolled pod of its node, the in-pod listeners (outbound, inbound
// plaintext, DNS through NetnsCapture, and HBONE on the pod IP) and the dials made from inside the pod's
// namespace (HBONE and plain TCP out of a source pod, the last hop into a destination pod), all marked so
// the pod's own rules never capture them again.
import type { Socket } from 'node:net';
import type { MeshService, MeshWorkload } from '../api/mesh.js';
import { HBONE_PORT } from '../config/mesh-constants.js';
import { L4meshError } from '../errors/index.js';
import type { CapturedConnection } from '../dataplane/capture/capture.js';
import { DnsResponder } from '../dataplane/capture/netns/dns-responder.js';
import { connectFromNetns, listeningFdInNetns } from '../dataplane/capture/netns/native.js';
import { NetnsCapture, type CapturedInbound } from '../dataplane/capture/netns/netns-capture.js';
import { NodeServices, serviceBackends } from '../dataplane/capture/netns/node-services.js';
import { PROXY_SOCKET_MARK } from '../dataplane/capture/netns/plan.js';
import { NetnsTopology, podNetnsName } from '../dataplane/capture/netns/topology.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../dataplane/dial.js';
import type { HboneDialVia } from '../dataplane/hbone/client-pool.js';
import type { HboneServer } from '../dataplane/hbone/server.js';
import type { SourceNamespaces } from '../dataplane/outbound/upstream.js';
import type { ProxyState } from '../dataplane/state/proxy-state.js';
import type { Logger } from '../logging/logger.js';

export interface NetnsPodsDeps {
  node: string;
  /** The mesh's namespace prefix (`l4m`, or a test's `l4m-t<hex>`). */
  prefix: string;
  state: ProxyState;
  log: Logger;
  /** A new HBONE server (the node proxy's handler and identities) accepting on `listenFd`. */
  hboneServer(podIp: string, listenFd: number): HboneServer;
  outbound(conn: CapturedConnection): void;
  inbound(conn: CapturedInbound): void;
}

export class NetnsPods implements SourceNamespaces {
  readonly capture: NetnsCapture;
  private readonly dns = new DnsResponder();
  /** Per enrolled pod (by workload uid): its HBONE server on podIP:HBONE_PORT inside its namespace. */
  private readonly hbone = new Map<string, { netns: string; server: HboneServer }>();
  /** The node's kube-proxy and cluster DNS stand-in, for its pods that are not in the mesh. */
  private readonly nodeServices: NodeServices;
  private syncing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: NetnsPodsDeps) {
    this.capture = new NetnsCapture({
      netnsOf: (w) => this.netnsOf(w),
      serviceFor: (ip) => this.serviceFor(ip),
      dns: this.dns,
      onError: (message, fields) => deps.log.error(message, fields),
    });
    this.capture.onConnection((conn) => deps.outbound(conn));
    this.capture.onInbound((conn) => deps.inbound(conn));
    this.nodeServices = new NodeServices({
      netns: new NetnsTopology(deps.prefix).nodeName(deps.node),
      dns: this.dns,
      // A pod the mesh does not know yet resolves short names as Kubernetes' default namespace would.
      clientNamespace: (address) => deps.state.workloadByAddress(address)?.namespace ?? 'default',
      onError: (message, fields) => deps.log.error(message, fields),
    });
  }

  /** The namespace of a local pod whose traffic is captured (enrolled: its workload speaks HBONE), else undefined. */
  netnsOf(w: MeshWorkload): string | undefined {
    // Pods only (uid `<cluster>//Pod/...`): a WorkloadEntry has no namespace here.
    if (w.node !== this.deps.node || w.tunnelProtocol !== 'HBONE' || !w.uid.includes('//Pod/') || !w.addresses[0]) return undefined;
    return podNetnsName(this.deps.prefix, w.node, w.namespace, w.name);
  }

  /** The service whose VIP a captured connection was sent to. */
  private serviceFor(ip: string): MeshService | undefined {
    return this.deps.state.allServices().find((s) => s.addresses.includes(ip));
  }

  /** Where a source pod's connections are made from: inside its namespace, from its IP, marked. */
  viaFor(source: MeshWorkload): HboneDialVia | undefined {
    const netns = this.netnsOf(source);
    const localIp = source.addresses[0];
    if (!netns || !localIp) return undefined;
    return { key: netns, connect: (host, port) => dialFromPod(netns, localIp, host, port) };
  }

  /** The last hop into a destination pod, made inside its namespace so it is not redirected to INBOUND_PORT. */
  dialWorkload(w: MeshWorkload, host: string, port: number): Promise<Socket> {
    const netns = this.netnsOf(w);
    if (!netns) {
      return Promise.reject(new L4meshError('L4MESH_ERR_NO_HEALTHY_UPSTREAM', `${w.namespace}/${w.name} is not an enrolled pod of node ${this.deps.node}; nothing to connect to in netns mode`));
    }
    return dialFromPod(netns, w.addresses[0]!, host, port, true);
  }

  /** Listeners follow the enrolled pods of this node; DNS answers and the node's service translations follow the services. */
  sync(local: readonly MeshWorkload[]): Promise<void> {
    this.dns.setServices(this.deps.state.allServices());
    const backends = serviceBackends(this.deps.state);
    this.syncing = this.syncing.then(async () => {
      await this.capture.sync(local);
      await this.syncHbone(local);
      await this.nodeServices.sync(backends);
    });
    return this.syncing;
  }

  private async syncHbone(local: readonly MeshWorkload[]): Promise<void> {
    const wanted = new Map<string, { netns: string; ip: string }>();
    for (const w of local) {
      const netns = this.netnsOf(w);
      if (netns) wanted.set(w.uid, { netns, ip: w.addresses[0]! });
    }
    for (const [uid, pod] of this.hbone) {
      if (wanted.get(uid)?.netns === pod.netns) continue;
      this.hbone.delete(uid);
      void pod.server.close(0);
    }
    for (const [uid, want] of wanted) {
      if (this.hbone.has(uid)) continue;
      try {
        const server = this.deps.hboneServer(want.ip, listeningFdInNetns(want.netns, want.ip, HBONE_PORT, { mark: PROXY_SOCKET_MARK }));
        await server.listen();
        this.hbone.set(uid, { netns: want.netns, server });
      } catch (err) {
        this.deps.log.error('cannot open the in-pod HBONE listener', { netns: want.netns, address: `${want.ip}:${HBONE_PORT}`, error: err });
      }
    }
  }

  /** Namespaces with in-pod listeners now, for the `/netns` admin view (the runtime waits on it). */
  captured(): string[] {
    return this.capture.capturedNetns().filter((n) => [...this.hbone.values()].some((p) => p.netns === n));
  }

  async stopAccepting(): Promise<void> {
    await this.syncing;
    await this.capture.close();
    await this.nodeServices.close();
  }

  /** HBONE servers last: open tunnels get `drainMs` to finish, as on the node proxy's own HBONE listener. */
  async close(drainMs: number): Promise<void> {
    const all = [...this.hbone.values()];
    this.hbone.clear();
    await Promise.all(all.map((p) => p.server.close(drainMs)));
  }
}

/**
 * A marked TCP connection from `localIp` inside `netns`, failing the way dialTcp's do; `pooledReads` for
 * the last hop into a workload (spliced), not for an HBONE connection (TLS reads the socket itself).
 */
async function dialFromPod(netns: string, localIp: string, host: string, port: number, pooledReads = false): Promise<Socket> {
  try {
    return await connectFromNetns(netns, { localIp, host, port, mark: PROXY_SOCKET_MARK, timeoutMs: DEFAULT_CONNECT_TIMEOUT_MS, pooledReads });
  } catch (err) {
    if (err instanceof L4meshError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new L4meshError('L4MESH_ERR_NO_HEALTHY_UPSTREAM', `cannot connect from netns ${netns} to ${host}:${port}: ${e.code ?? e.message} — is the workload listening on that port?`, { cause: err });
  }
}
