// Builds and removes netns mode's network (DESIGN §2): a fabric namespace with a bridge joining node
// namespaces, pod namespaces on veths into their node, addresses, routes and resolv.conf. Everything it
// makes is recorded first, so destroy() after a crash removes exactly what this mesh made.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { L4meshError } from '../../../errors/index.js';
import { inNetnsCmd, ipCmd, listNetns } from './commands.js';
import {
  FABRIC_BRIDGE, FABRIC_CONTROL_PLANE_IP, FABRIC_PREFIX_LEN, FIRST_POD_HOST, LAST_POD_HOST, MAX_NODE_INDEX,
  NETNS_ETC_DIR, NETNS_NAME_MAX, NETNS_PREFIX, NETNS_RECORD_DIR, nodeFabricIp, podGatewayIp, podIp, podSubnet,
} from './plan.js';

/** Read and written inside a namespace, it is that namespace's own setting. */
export const TCP_TW_REUSE_FILE = '/proc/sys/net/ipv4/tcp_tw_reuse';
/** Kubernetes object names (DNS labels) are what node and pod names may be; anything else is refused. */
const NAME_PATTERN = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
/** Hex digits of the hash that shortens a long pod namespace name: enough that collisions do not happen in practice. */
const NAME_HASH_LEN = 8;
/** Inside a namespace the link facing its parent is always this: what a pod sees, like a real cluster. */
const INNER_IFNAME = 'eth0';

export interface NodeNetns {
  node: string;
  index: number;
  netns: string;
  fabricIp: string;
}

export interface PodNetnsSpec {
  node: string;
  /** 1-based index of the node (its pods are 198.18.index.0/24). */
  nodeIndex: number;
  namespace: string;
  pod: string;
  /** Host part of the pod address, 2..254. */
  host: number;
}

export interface PodNetns {
  netns: string;
  ip: string;
  gateway: string;
}

function checkName(what: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `${what} ${JSON.stringify(name)} is not a DNS label (lower-case letters, digits, '-', '.')`);
  }
}

/** The resolv.conf a pod sees: its own namespace first, like a Kubernetes pod; ndots:5 as kubelet writes it. */
export function podResolvConf(namespace: string, nameserver: string): string {
  return `nameserver ${nameserver}\nsearch ${namespace}.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`;
}

/**
 * The namespace of a pod: `<prefix>-<node>-<pod>`, shortened with a hash of node/namespace/pod when longer
 * than NETNS_NAME_MAX. The runtime, the node proxy and `exec` all derive it from the same facts.
 */
export function podNetnsName(prefix: string, node: string, namespace: string, pod: string): string {
  const full = `${prefix}-${node}-${pod}`;
  if (full.length <= NETNS_NAME_MAX) return full;
  const hash = createHash('sha256').update(`${node}/${namespace}/${pod}`).digest('hex').slice(0, NAME_HASH_LEN);
  return `${full.slice(0, NETNS_NAME_MAX - NAME_HASH_LEN - 1).replace(/[-.]+$/, '')}-${hash}`;
}

/**
 * MTU of every link the mesh makes. The links are virtual and on one host, so nothing limits a packet to
 * Ethernet's 1,500 bytes; at that size a bulk tunnel cost the proxies twice the CPU per byte of loopback
 * (65,536): many more packets through veth, bridge and netfilter, and smaller reads. 65,535 is a veth's maximum.
 */
export const LINK_MTU = 65_535;

/** Whether namespace `netns` has its link to its parent (`ip -o link` names it `eth0@ifN`). */
async function hasInnerLink(netns: string): Promise<boolean> {
  const links = await ipCmd('-n', netns, '-o', 'link', 'show');
  return links.split('\n').some((l) => l.split(': ')[1]?.split('@')[0] === INNER_IFNAME);
}

export class NetnsTopology {
  readonly prefix: string;
  private readonly recordDir: string;

  /** `prefix` is `l4m` for the mesh; tests pass a unique `l4m-t<random>` so parallel runs never meet. */
  constructor(prefix: string = NETNS_PREFIX) {
    if (!/^l4m(-[a-z0-9]+)?$/.test(prefix)) throw new L4meshError('L4MESH_ERR_CONFIG', `netns prefix ${JSON.stringify(prefix)} must be l4m or l4m-<letters/digits>`);
    this.prefix = prefix;
    this.recordDir = join(NETNS_RECORD_DIR, prefix);
  }

  fabricName(): string {
    return `${this.prefix}-fabric`;
  }

  nodeName(node: string): string {
    return `${this.prefix}-${node}`;
  }

  /** `<prefix>-<node>-<pod>`, shortened with a hash of namespace/pod when longer than NETNS_NAME_MAX. */
  podName(node: string, namespace: string, pod: string): string {
    return podNetnsName(this.prefix, node, namespace, pod);
  }

  /** Removes leftovers of an earlier run (crash), then makes the fabric namespace and its bridge. */
  async createFabric(): Promise<void> {
    await this.destroy();
    const fabric = this.fabricName();
    await this.addNetns(fabric);
    await ipCmd('-n', fabric, 'link', 'set', 'lo', 'up');
    await ipCmd('-n', fabric, 'link', 'add', FABRIC_BRIDGE, 'mtu', String(LINK_MTU), 'type', 'bridge');
    await ipCmd('-n', fabric, 'addr', 'add', `${FABRIC_CONTROL_PLANE_IP}/${FABRIC_PREFIX_LEN}`, 'dev', FABRIC_BRIDGE);
    await ipCmd('-n', fabric, 'link', 'set', FABRIC_BRIDGE, 'up');
  }

  /**
   * A node namespace on the fabric at 198.18.0.(10+index), forwarding for its pods. `peers` are the nodes
   * already present: routes to their pod subnets are added both ways.
   */
  async addNode(node: string, index: number, peers: readonly NodeNetns[] = []): Promise<NodeNetns> {
    checkName('node name', node);
    if (!Number.isInteger(index) || index < 1 || index > MAX_NODE_INDEX) {
      throw new L4meshError('L4MESH_ERR_CONFIG', `node index ${index} is outside 1..${MAX_NODE_INDEX} (pods of node k use 198.18.k.0/24)`);
    }
    const netns = this.nodeName(node);
    const fabric = this.fabricName();
    const fabricSide = `l4mn${index}`;
    await this.addNetns(netns);
    await ipCmd('-n', fabric, 'link', 'add', fabricSide, 'mtu', String(LINK_MTU), 'type', 'veth', 'peer', 'name', INNER_IFNAME, 'mtu', String(LINK_MTU), 'netns', netns);
    await ipCmd('-n', fabric, 'link', 'set', fabricSide, 'master', FABRIC_BRIDGE);
    await ipCmd('-n', fabric, 'link', 'set', fabricSide, 'up');
    const fabricIp = nodeFabricIp(index);
    await ipCmd('-n', netns, 'link', 'set', 'lo', 'up');
    await ipCmd('-n', netns, 'addr', 'add', `${fabricIp}/${FABRIC_PREFIX_LEN}`, 'dev', INNER_IFNAME);
    await ipCmd('-n', netns, 'link', 'set', INNER_IFNAME, 'up');
    await inNetnsCmd(netns, 'sh', ['-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    // The fabric's own listeners (the control plane's, DESIGN §2) answer pods through their node.
    await ipCmd('-n', fabric, 'route', 'add', podSubnet(index), 'via', fabricIp);
    const self: NodeNetns = { node, index, netns, fabricIp };
    for (const peer of peers) {
      await ipCmd('-n', netns, 'route', 'add', `198.18.${peer.index}.0/24`, 'via', peer.fabricIp);
      await ipCmd('-n', peer.netns, 'route', 'add', `198.18.${index}.0/24`, 'via', fabricIp);
    }
    return self;
  }

  /**
   * A pod namespace with one veth into its node: the pod has 198.18.k.host/32 and a default route via
   * 198.18.k.1 (the node end, which holds that address on every pod veth and a /32 route per pod).
   */
  async addPod(spec: PodNetnsSpec): Promise<PodNetns> {
    checkName('pod name', spec.pod);
    checkName('namespace', spec.namespace);
    if (!Number.isInteger(spec.host) || spec.host < FIRST_POD_HOST || spec.host > LAST_POD_HOST) {
      throw new L4meshError('L4MESH_ERR_CONFIG', `pod host number ${spec.host} is outside ${FIRST_POD_HOST}..${LAST_POD_HOST}`);
    }
    const node = this.nodeName(spec.node);
    const netns = this.podName(spec.node, spec.namespace, spec.pod);
    const ip = podIp(spec.nodeIndex, spec.host);
    const gateway = podGatewayIp(spec.nodeIndex);
    const nodeSide = `l4mp${spec.host}`;
    await this.addNetns(netns, podResolvConf(spec.namespace, gateway));
    await ipCmd('-n', node, 'link', 'add', nodeSide, 'mtu', String(LINK_MTU), 'type', 'veth', 'peer', 'name', INNER_IFNAME, 'mtu', String(LINK_MTU), 'netns', netns);
    await ipCmd('-n', node, 'addr', 'add', `${gateway}/32`, 'dev', nodeSide);
    await ipCmd('-n', node, 'link', 'set', nodeSide, 'up');
    await ipCmd('-n', node, 'route', 'add', `${ip}/32`, 'dev', nodeSide);
    await ipCmd('-n', netns, 'link', 'set', 'lo', 'up');
    await ipCmd('-n', netns, 'addr', 'add', `${ip}/32`, 'dev', INNER_IFNAME);
    await ipCmd('-n', netns, 'link', 'set', INNER_IFNAME, 'up');
    await ipCmd('-n', netns, 'route', 'add', gateway, 'dev', INNER_IFNAME, 'scope', 'link');
    await ipCmd('-n', netns, 'route', 'add', 'default', 'via', gateway, 'dev', INNER_IFNAME);
    // The node proxy's last hop into the pod goes from the pod IP to the pod IP and closes first when the
    // client does, so its sockets end in TIME_WAIT; past ~470 new connections a second (28k ports / 60 s)
    // every connect() searched a full range and then failed. The kernel's default (2) reuses such ports for
    // loopback addresses only; 1 reuses them for this namespace's own connections too, once a second old.
    await inNetnsCmd(netns, 'tee', [TCP_TW_REUSE_FILE], '1\n');
    return { netns, ip, gateway };
  }

  /** Removes one pod namespace, its veth pair, the node's route to it, and its files. */
  async removePod(node: string, namespace: string, pod: string): Promise<void> {
    await this.removeNetns(this.podName(node, namespace, pod));
  }

  /** Removes every namespace and file this prefix's record lists: pods, nodes, fabric. Safe to repeat. */
  async destroy(): Promise<void> {
    let recorded: string[];
    try {
      recorded = await readdir(this.recordDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    // Children first, so each veth is deleted from its inner end while the outer one still exists: a pod's
    // name extends its node's (`<prefix>-<node>-<pod>`), so reverse order puts it first; the fabric goes last.
    const fabric = this.fabricName();
    const order = recorded.filter((n) => n !== fabric).sort().reverse();
    if (recorded.includes(fabric)) order.push(fabric);
    for (const name of order) await this.removeNetns(name);
    await rm(this.recordDir, { recursive: true, force: true });
  }

  private async addNetns(name: string, resolvConf?: string): Promise<void> {
    // Checked before recording: a namespace someone else made must never be taken over (or deleted) by destroy().
    if ((await listNetns()).includes(name)) {
      throw new L4meshError('L4MESH_ERR_CONFLICT', `network namespace ${name} already exists and is not this mesh's; remove it (ip netns del ${name}) or choose other names`);
    }
    await mkdir(this.recordDir, { recursive: true, mode: 0o700 });
    await writeFile(join(this.recordDir, name), '');
    if (resolvConf !== undefined) {
      await mkdir(join(NETNS_ETC_DIR, name), { recursive: true });
      await writeFile(join(NETNS_ETC_DIR, name, 'resolv.conf'), resolvConf);
    }
    await ipCmd('netns', 'add', name);
  }

  private async removeNetns(name: string): Promise<void> {
    if ((await listNetns()).includes(name)) {
      // A namespace is freed by the kernel's cleanup work some time after `ip netns del`, and later still
      // while a socket in it lives on; its veth and the parent's route through that veth go only then.
      // Deleting the inner end first removes the pair, and the route, before this returns.
      if (await hasInnerLink(name)) {
        // The pair can still vanish in between, when the namespace of its other end is being freed.
        await ipCmd('-n', name, 'link', 'del', INNER_IFNAME).catch(async (err: unknown) => {
          if (await hasInnerLink(name)) throw err;
        });
      }
      await ipCmd('netns', 'del', name);
    }
    await rm(join(NETNS_ETC_DIR, name), { recursive: true, force: true });
    await rm(join(this.recordDir, name), { force: true });
  }
}
