// netns-mode capture: for each enrolled local pod, the node proxy's outbound (OUTBOUND_CAPTURE_PORT), inbound plaintext
// (INBOUND_PORT) and DNS (DNS_CAPTURE_PORT udp+tcp) listeners opened inside the pod's network namespace. The in-pod rules
// send the pod's traffic there; SO_ORIGINAL_DST gives the destination, the listener gives the pod.
import type { Socket as UdpSocket } from 'node:dgram';
import type { Server, Socket } from 'node:net';
import type { MeshService, MeshWorkload } from '../../../api/mesh.js';
import { adoptAccepted } from '../../pooled-reads.js';
import type { Capture, CapturedConnection, OutboundMapping } from '../capture.js';
import type { DnsResponder } from './dns-responder.js';
import { bindUdpInNetns, listenTcpInNetns, originalDestination } from './native.js';
import { DNS_CAPTURE_PORT, INBOUND_PORT, OUTBOUND_CAPTURE_PORT } from '../../../config/mesh-constants.js';
import { PROXY_SOCKET_MARK } from './plan.js';

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

/** A plaintext connection from outside the mesh into an enrolled pod, as the in-pod rules redirected it. */
export interface CapturedInbound {
  socket: Socket;
  /** The enrolled pod it was sent to. */
  destination: MeshWorkload;
  /** The original destination `ip:port` (the pod IP and the application's port). */
  destinationIp: string;
  destinationPort: number;
}

interface PodListeners {
  netns: string;
  source: MeshWorkload;
  outbound: Server;
  inbound: Server;
  dnsTcp: Server;
  dnsUdp: UdpSocket;
}

export class NetnsCapture implements Capture {
  private readonly pods = new Map<string, PodListeners>();
  private handler: (conn: CapturedConnection) => void = (conn) => conn.socket.destroy();
  private inboundHandler: (conn: CapturedInbound) => void = (conn) => conn.socket.destroy();
  private syncing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: NetnsCaptureDeps) {}

  onConnection(handler: (conn: CapturedConnection) => void): void {
    this.handler = handler;
  }

  /** Called for every plaintext connection into an enrolled pod (policy decides; STRICT refuses it). */
  onInbound(handler: (conn: CapturedInbound) => void): void {
    this.inboundHandler = handler;
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
    const opened: Server[] = [];
    try {
      const outbound = await listenTcpInNetns(netns, ANY_ADDRESS, OUTBOUND_CAPTURE_PORT, { mark, pauseOnConnect: true, noDelay: true });
      opened.push(outbound);
      const inbound = await listenTcpInNetns(netns, ANY_ADDRESS, INBOUND_PORT, { mark, pauseOnConnect: true, noDelay: true });
      opened.push(inbound);
      const dnsTcp = await listenTcpInNetns(netns, ANY_ADDRESS, DNS_CAPTURE_PORT, { mark });
      opened.push(dnsTcp);
      const dnsUdp = await bindUdpInNetns(netns, DNS_UDP_ADDRESS, DNS_CAPTURE_PORT, { mark });
      const pod: PodListeners = { netns, source, outbound, inbound, dnsTcp, dnsUdp };
      outbound.on('connection', (socket: Socket) => this.accept(pod, socket));
      inbound.on('connection', (socket: Socket) => this.acceptInbound(pod, socket));
      this.deps.dns.serveTcp(dnsTcp, source.namespace);
      this.deps.dns.serveUdp(dnsUdp, source.namespace);
      return pod;
    } catch (err) {
      for (const server of opened) server.close();
      throw err;
    }
  }

  /** The original destination of a redirected connection, reading started; undefined (socket closed) when there is none. */
  private redirected(pod: PodListeners, socket: Socket, direction: string): { address: string; port: number } | undefined {
    let dst: { address: string; port: number };
    try {
      dst = originalDestination(socket);
    } catch (err) {
      // Not redirected (something dialled the listener itself): there is no destination to carry it to.
      this.deps.onError?.(`in-pod ${direction} connection without an original destination`, { netns: pod.netns, error: err });
      socket.destroy();
      return undefined;
    }
    // Read at once, as local capture does: a connection refused later must have its bytes read so that
    // closing it sends a FIN, not a RST.
    adoptAccepted(socket);
    socket.resume();
    return dst;
  }

  private accept(pod: PodListeners, socket: Socket): void {
    const dst = this.redirected(pod, socket, 'outbound');
    if (!dst) return;
    this.handler({
      socket,
      source: pod.source,
      service: this.deps.serviceFor(dst.address, dst.port),
      destinationIp: dst.address,
      destinationPort: dst.port,
    });
  }

  private acceptInbound(pod: PodListeners, socket: Socket): void {
    const dst = this.redirected(pod, socket, 'inbound');
    if (!dst) return;
    this.inboundHandler({ socket, destination: pod.source, destinationIp: dst.address, destinationPort: dst.port });
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
  pod.inbound.close();
  pod.dnsTcp.close();
  await new Promise<void>((resolve) => pod.dnsUdp.close(() => resolve()));
}
