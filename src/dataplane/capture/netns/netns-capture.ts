// netns-mode capture: for each enrolled local pod, the node proxy's outbound listener (:15001) and DNS
// (:15053 udp+tcp) opened inside the pod's network namespace. The in-pod rules send the pod's traffic
// there; SO_ORIGINAL_DST gives the destination, the listener gives the source workload.
import type { Socket as UdpSocket } from 'node:dgram';
import type { Server, Socket } from 'node:net';
import type { MeshService, MeshWorkload } from '../../../api/mesh.js';
import { adoptAccepted } from '../../pooled-reads.js';
import type { Capture, CapturedConnection, OutboundMapping } from '../capture.js';
import type { DnsResponder } from './dns-responder.js';
import { bindUdpInNetns, listenTcpInNetns, originalDestination } from './native.js';
import { POD_DNS_PORT, POD_OUTBOUND_PORT, PROXY_SOCKET_MARK } from './plan.js';

/** The in-pod TCP listeners take whatever the rules redirect, on every address of the pod namespace. */
const ANY_ADDRESS = '0.0.0.0';
/**
 * REDIRECT of a pod's own packets rewrites the destination to 127.0.0.1, and a UDP reply only gets its
 * source turned back into the nameserver's address when it leaves from there: a socket on 0.0.0.0 would
 * answer from the pod IP and the resolver would drop the answer.
 */
const DNS_UDP_ADDRESS = '127.0.0.1';

export interface NetnsCaptureDeps {
  /** The network namespace of a local workload's pod; undefined for one that is not enrolled (no listeners). */
  netnsOf(w: MeshWorkload): string | undefined;
  /** The service an original destination names: a VIP, or a pod IP:port that backs a service. */
  serviceFor(ip: string, port: number): MeshService | undefined;
  /** Answers the pods' DNS; its service table is the caller's to keep current. */
  dns: DnsResponder;
  onError?(message: string, fields: Record<string, unknown>): void;
}

interface PodListeners {
  netns: string;
  source: MeshWorkload;
  outbound: Server;
  dnsTcp: Server;
  dnsUdp: UdpSocket;
}

export class NetnsCapture implements Capture {
  private readonly pods = new Map<string, PodListeners>();
  private handler: (conn: CapturedConnection) => void = (conn) => conn.socket.destroy();
  private syncing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: NetnsCaptureDeps) {}

  onConnection(handler: (conn: CapturedConnection) => void): void {
    this.handler = handler;
  }

  /** Opens listeners in the namespaces of enrolled pods that have none, closes those of pods gone or unenrolled. */
  sync(localWorkloads: readonly MeshWorkload[]): Promise<void> {
    // Serialized: a second sync waits for the first, so a pod's listeners are never opened twice.
    this.syncing = this.syncing.then(() => this.reconcile(localWorkloads));
    return this.syncing;
  }

  private async reconcile(localWorkloads: readonly MeshWorkload[]): Promise<void> {
    const wanted = new Map<string, { source: MeshWorkload; netns: string }>();
    for (const w of localWorkloads) {
      const netns = this.deps.netnsOf(w);
      if (netns) wanted.set(w.uid, { source: w, netns });
    }
    for (const [uid, pod] of this.pods) {
      const want = wanted.get(uid);
      if (want && want.netns === pod.netns) {
        pod.source = want.source;
        continue;
      }
      this.pods.delete(uid);
      await closePod(pod);
    }
    for (const [uid, want] of wanted) {
      if (this.pods.has(uid)) continue;
      try {
        this.pods.set(uid, await this.openPod(want.netns, want.source));
      } catch (err) {
        this.deps.onError?.('cannot open in-pod listeners', { netns: want.netns, workload: want.source.name, error: err });
      }
    }
  }

  private async openPod(netns: string, source: MeshWorkload): Promise<PodListeners> {
    const mark = PROXY_SOCKET_MARK;
    const outbound = await listenTcpInNetns(netns, ANY_ADDRESS, POD_OUTBOUND_PORT, { mark, pauseOnConnect: true, noDelay: true });
    let dnsTcp: Server | undefined;
    try {
      dnsTcp = await listenTcpInNetns(netns, ANY_ADDRESS, POD_DNS_PORT, { mark });
      const dnsUdp = await bindUdpInNetns(netns, DNS_UDP_ADDRESS, POD_DNS_PORT, { mark });
      const pod: PodListeners = { netns, source, outbound, dnsTcp, dnsUdp };
      outbound.on('connection', (socket: Socket) => this.accept(pod, socket));
      this.deps.dns.serveTcp(dnsTcp, source.namespace);
      this.deps.dns.serveUdp(dnsUdp, source.namespace);
      return pod;
    } catch (err) {
      outbound.close();
      dnsTcp?.close();
      throw err;
    }
  }

  private accept(pod: PodListeners, socket: Socket): void {
    let dst: { address: string; port: number };
    try {
      dst = originalDestination(socket);
    } catch (err) {
      // Not redirected (something dialled :15001 itself): there is no destination to carry it to.
      this.deps.onError?.('in-pod outbound connection without an original destination', { netns: pod.netns, error: err });
      socket.destroy();
      return;
    }
    // Read at once, as local capture does: a connection refused later must have its bytes read so that
    // closing it sends a FIN, not a RST.
    adoptAccepted(socket);
    socket.resume();
    this.handler({
      socket,
      source: pod.source,
      service: this.deps.serviceFor(dst.address, dst.port),
      destinationIp: dst.address,
      destinationPort: dst.port,
    });
  }

  /** netns mode hands workloads no per-service listener addresses: they dial VIPs and names. */
  mappings(): OutboundMapping[] {
    return [];
  }

  /** The namespaces that have in-pod listeners now (for admin views and tests). */
  capturedNetns(): string[] {
    return [...this.pods.values()].map((p) => p.netns).sort();
  }

  /** Stops accepting at once; connections already accepted are left to finish (the caller drains them). */
  async close(): Promise<void> {
    await this.syncing;
    const all = [...this.pods.values()];
    this.pods.clear();
    await Promise.all(all.map(closePod));
  }
}

async function closePod(pod: PodListeners): Promise<void> {
  pod.outbound.close();
  pod.dnsTcp.close();
  await new Promise<void>((resolve) => pod.dnsUdp.close(() => resolve()));
}
