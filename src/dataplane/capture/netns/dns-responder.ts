// The node proxy's in-pod DNS (DNS_CAPTURE_PORT, what the in-pod rules send port 53 to): A records for mesh services
// by `<svc>.<ns>.svc.cluster.local`, `<svc>.<ns>` and `<svc>` (in the asking pod's namespace) → the
// service VIPs; every other name NXDOMAIN at once, since netns mode has no upstream resolver.
import type { Socket as UdpSocket } from 'node:dgram';
import type { Server, Socket } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';
import type { MeshService } from '../../../api/mesh.js';

/** VIPs change only when services are applied; short enough that a re-apply is seen within half a minute. */
export const DNS_ANSWER_TTL_SECONDS = 30;
/** The cluster domain of every service hostname (Kubernetes' default). */
export const CLUSTER_DOMAIN = 'svc.cluster.local';
/** A DNS message over TCP is at most 64 KiB; a client sending more is not speaking DNS. */
const MAX_TCP_BUFFER = 65_537;
/** rcodes we answer with (RFC 1035 §4.1.1). */
const RCODE_NOERROR = 0;
const RCODE_FORMERR = 1;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;
/** Only standard queries (opcode 0) are answered. */
const OPCODE_QUERY = 0;

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The Kubernetes namespace short names are resolved in: fixed for one pod's listener, else by the asking address. */
export type ClientNamespace = string | ((address: string) => string);

function namespaceOf(client: ClientNamespace, address: string): string {
  return typeof client === 'string' ? client : client(address);
}

export class DnsResponder {
  /** `<svc>.<ns>` → IPv4 VIPs. */
  private vips = new Map<string, string[]>();

  /** Replaces the known services; names of services without an IPv4 VIP answer NOERROR with no records. */
  setServices(services: readonly MeshService[]): void {
    const next = new Map<string, string[]>();
    for (const s of services) {
      next.set(`${s.name}.${s.namespace}`.toLowerCase(), s.addresses.filter((a) => IPV4.test(a)));
    }
    this.vips = next;
  }

  /** The VIPs of `name` as a pod in `clientNamespace` would mean it, or undefined when no service has that name. */
  lookup(name: string, clientNamespace: string): string[] | undefined {
    const n = name.toLowerCase().replace(/\.$/, '');
    let labels: string[];
    if (n.endsWith(`.${CLUSTER_DOMAIN}`)) {
      labels = n.slice(0, -CLUSTER_DOMAIN.length - 1).split('.');
      if (labels.length !== 2) return undefined;
    } else {
      labels = n.split('.');
      if (labels.length === 1) labels.push(clientNamespace.toLowerCase());
      if (labels.length !== 2) return undefined;
    }
    return this.vips.get(labels.join('.'));
  }

  /** The response to one DNS query message, or undefined when it is not a DNS message at all (dropped). */
  answer(query: Buffer, clientNamespace: string): Buffer | undefined {
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(query);
    } catch {
      return undefined;
    }
    if (q.type !== 'query') return undefined;
    const opcode = ((q.flags ?? 0) >> 11) & 0xf;
    const base = { type: 'response' as const, id: q.id, questions: q.questions ?? [] };
    const flags = dnsPacket.AUTHORITATIVE_ANSWER | ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED);
    if (opcode !== OPCODE_QUERY) return dnsPacket.encode({ ...base, flags: flags | RCODE_NOTIMP });
    const question = q.questions?.length === 1 ? q.questions[0] : undefined;
    if (!question) return dnsPacket.encode({ ...base, flags: flags | RCODE_FORMERR });
    const vips = this.lookup(question.name, clientNamespace);
    if (vips === undefined) return dnsPacket.encode({ ...base, flags: flags | RCODE_NXDOMAIN });
    // A known name asked for another type (AAAA above all) gets NOERROR with no records, so the
    // resolver keeps the A answer instead of giving up on the name.
    const answers: Answer[] = question.type === 'A' && (question.class ?? 'IN') === 'IN'
      ? vips.map((vip) => ({ type: 'A' as const, class: 'IN' as const, name: question.name, ttl: DNS_ANSWER_TTL_SECONDS, data: vip }))
      : [];
    return dnsPacket.encode({ ...base, flags: flags | RCODE_NOERROR, answers });
  }

  /**
   * Answers every datagram on `socket` (the pod's DNS_CAPTURE_PORT/udp) for a pod in `clientNamespace`, or
   * (the node's cluster DNS) in the namespace of whichever pod asked.
   */
  serveUdp(socket: UdpSocket, clientNamespace: ClientNamespace): void {
    socket.on('message', (msg: Buffer, rinfo) => {
      const reply = this.answer(msg, namespaceOf(clientNamespace, rinfo.address));
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
    });
  }

  /** Answers length-prefixed queries on every connection of `server` (the pod's DNS_CAPTURE_PORT/tcp). */
  serveTcp(server: Server, clientNamespace: ClientNamespace): void {
    server.on('connection', (socket: Socket) => this.serveTcpConnection(socket, namespaceOf(clientNamespace, socket.remoteAddress ?? '')));
  }

  private serveTcpConnection(socket: Socket, clientNamespace: string): void {
    let buffered = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length > MAX_TCP_BUFFER) return socket.destroy();
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const reply = this.answer(buffered.subarray(2, 2 + len), clientNamespace);
        buffered = buffered.subarray(2 + len);
        if (!reply) return socket.destroy();
        const framed = Buffer.alloc(2 + reply.length);
        framed.writeUInt16BE(reply.length, 0);
        reply.copy(framed, 2);
        socket.write(framed);
      }
    });
    socket.on('end', () => socket.end());
  }
}
