// What kube-proxy and the cluster DNS give every pod of a real cluster, for a node's pods the mesh does not
// capture (istio.io/dataplane-mode=none): a service VIP:port DNATed to one of its endpoints in the node's
// namespace, kept in step with the endpoints, and DNS answers on the pods' nameserver (their gateway, port
// CLUSTER_DNS_PORT). Enrolled pods never reach either: their own rules send VIP and DNS traffic to the proxy.
import type { Socket as UdpSocket } from 'node:dgram';
import type { Server } from 'node:net';
import { isIPv4 } from 'node:net';
import { CLUSTER_DNS_PORT, NETNS_VIP_RANGE } from '../../../config/mesh-constants.js';
import type { ProxyState } from '../../state/proxy-state.js';
import { inNetnsCmd } from './commands.js';
import type { ClientNamespace, DnsResponder } from './dns-responder.js';
import { bindUdpInNetns, listenTcpInNetns } from './native.js';

/** The node namespace's chain of service translations (kube-proxy's is KUBE-SERVICES). */
export const NODE_SERVICES_CHAIN = 'L4M_SERVICES';
/**
 * Every address of the node namespace: queries arrive at the gateway address each pod veth carries, and a
 * reply from a socket on any address leaves with that address (the only one on the pod's veth).
 */
const ANY_ADDRESS = '0.0.0.0';
/** Digits of a DNAT rule's probability: enough that 1/n stays exact to a part in a million for any n here. */
const PROBABILITY_DIGITS = 6;

/** One service port as kube-proxy sees it: the VIP:port and the ready endpoints behind it. */
export interface ServiceBackends {
  vip: string;
  port: number;
  endpoints: ReadonlyArray<{ ip: string; port: number }>;
}

/** Every IPv4 VIP:port of the mesh's services with the ready endpoints the mesh knows for it (pod IP, target port). */
export function serviceBackends(state: Pick<ProxyState, 'allServices' | 'endpointsOf'>): ServiceBackends[] {
  const out: ServiceBackends[] = [];
  for (const service of state.allServices()) {
    for (const { servicePort } of service.ports) {
      const endpoints = state.endpointsOf(`${service.namespace}/${service.hostname}`, servicePort)
        .filter((e) => isIPv4(e.workload.addresses[0] ?? ''))
        .map((e) => ({ ip: e.workload.addresses[0]!, port: e.targetPort }));
      for (const vip of service.addresses.filter((a) => isIPv4(a))) out.push({ vip, port: servicePort, endpoints });
    }
  }
  return out;
}

/**
 * The iptables-restore input for a node namespace's nat table: TCP to a VIP:port goes to one of its
 * endpoints at random (rule i of n taken with probability 1/(n-i), as kube-proxy's iptables mode does).
 * A VIP:port without endpoints is left alone: the node has no route to the VIP range, so the client gets
 * "no route to host" at once.
 */
export function nodeServiceRules(services: readonly ServiceBackends[]): string {
  const chain = NODE_SERVICES_CHAIN;
  const lines = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    `:${chain} - [0:0]`,
    `-A PREROUTING -d ${NETNS_VIP_RANGE} -p tcp -j ${chain}`,
  ];
  const sorted = [...services].sort((a, b) => a.vip.localeCompare(b.vip) || a.port - b.port);
  for (const s of sorted) {
    const n = s.endpoints.length;
    s.endpoints.forEach((e, i) => {
      const pick = i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(PROBABILITY_DIGITS)}` : '';
      lines.push(`-A ${chain} -d ${s.vip}/32 -p tcp -m tcp --dport ${s.port}${pick} -j DNAT --to-destination ${e.ip}:${e.port}`);
    });
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

export interface NodeServicesDeps {
  /** The node's network namespace. */
  netns: string;
  /** The mesh's service table, shared with the in-pod DNS. */
  dns: DnsResponder;
  /** The Kubernetes namespace of the pod at `address`, for short names. */
  clientNamespace: Extract<ClientNamespace, (address: string) => string>;
  onError(message: string, fields: Record<string, unknown>): void;
}

export class NodeServices {
  private dnsTcp?: Server;
  private dnsUdp?: UdpSocket;
  private applied?: string;
  private syncing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: NodeServicesDeps) {}

  /** Opens the DNS listeners (once) and replaces the translations when they changed; serialized. */
  sync(services: readonly ServiceBackends[]): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      await this.openDns();
      const rules = nodeServiceRules(services);
      if (rules === this.applied) return;
      try {
        await inNetnsCmd(this.deps.netns, 'iptables-restore', ['--wait', '10'], rules);
        this.applied = rules;
      } catch (err) {
        this.deps.onError('cannot set the node\'s service translations', { netns: this.deps.netns, error: err });
      }
    });
    return this.syncing;
  }

  private async openDns(): Promise<void> {
    const { netns, dns, clientNamespace } = this.deps;
    try {
      if (!this.dnsTcp) {
        this.dnsTcp = await listenTcpInNetns(netns, ANY_ADDRESS, CLUSTER_DNS_PORT);
        dns.serveTcp(this.dnsTcp, clientNamespace);
      }
      if (!this.dnsUdp) {
        this.dnsUdp = await bindUdpInNetns(netns, ANY_ADDRESS, CLUSTER_DNS_PORT);
        dns.serveUdp(this.dnsUdp, clientNamespace);
      }
    } catch (err) {
      this.deps.onError('cannot open the node\'s cluster DNS', { netns, port: CLUSTER_DNS_PORT, error: err });
    }
  }

  /** Closes the DNS listeners; the translations stay until the namespace goes, as kube-proxy's do across restarts. */
  async close(): Promise<void> {
    await this.syncing;
    this.dnsTcp?.close();
    this.dnsTcp = undefined;
    const udp = this.dnsUdp;
    this.dnsUdp = undefined;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
  }
}
