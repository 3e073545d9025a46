// The fixed facts of netns mode (DESIGN §2): names, the address plan inside 198.18.0.0/15 and the socket
// mark, in one place so topology, rules and capture agree (the in-pod ports are mesh-constants.ts's).

/** Every namespace, link and file netns mode makes starts with this, so cleanup can find leftovers. */
export const NETNS_PREFIX = 'l4m';
/** The namespace holding the bridge that joins the nodes. */
export const FABRIC_NETNS = 'l4m-fabric';
/** The bridge inside the fabric namespace. */
export const FABRIC_BRIDGE = 'l4mbr0';
/** Where `ip netns add` puts namespace files; the addon opens them to setns. */
export const NETNS_RUN_DIR = '/var/run/netns';
/** Per-namespace files `ip netns exec` bind-mounts over /etc (resolv.conf). */
export const NETNS_ETC_DIR = '/etc/netns';

/** Linux interface names are at most 15 bytes (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;
/** Namespace names become file names and `ip netns` arguments; keep them short enough to read in `ip netns list`. */
export const NETNS_NAME_MAX = 48;

/** The fabric subnet: the control plane's proxy-facing address and one address per node. */
export const FABRIC_SUBNET = '198.18.0.0/24';
export const FABRIC_PREFIX_LEN = 24;
/** Control-plane listeners for proxies (DESIGN §2), on the bridge itself. */
export const FABRIC_CONTROL_PLANE_IP = '198.18.0.1';
/** Node k sits at 198.18.0.(10+k): room below for fabric services. */
export const FABRIC_NODE_OFFSET = 10;
/** Pods of node k live in 198.18.k.0/24 and the node at 198.18.0.(10+k), so k is 1..244. */
export const MAX_NODE_INDEX = 244;
export const POD_PREFIX_LEN = 24;
/** The node's end of every pod veth carries 198.18.k.1, the pods' default gateway. */
export const POD_GATEWAY_HOST = 1;
/** Pods take 198.18.k.2 .. 198.18.k.254. */
export const FIRST_POD_HOST = 2;
export const LAST_POD_HOST = 254;

/** Sockets the proxy owns carry this mark and are never captured again (istio-cni's 0x539 under mask 0xfff). */
export const PROXY_SOCKET_MARK = 0x539;
export const PROXY_SOCKET_MARK_MASK = 0xfff;

/** The address of node `k` (1-based) on the fabric bridge. */
export function nodeFabricIp(k: number): string {
  return `198.18.0.${FABRIC_NODE_OFFSET + k}`;
}

/** The gateway (node end of the veths) of node `k`'s pod subnet. */
export function podGatewayIp(k: number): string {
  return `198.18.${k}.${POD_GATEWAY_HOST}`;
}

/** The subnet of node `k`'s pods. */
export function podSubnet(k: number): string {
  return `198.18.${k}.0/${POD_PREFIX_LEN}`;
}

/** Pod `host` (2..254) of node `k`. */
export function podIp(k: number, host: number): string {
  return `198.18.${k}.${host}`;
}

/**
 * One empty file per namespace a mesh made, written before the namespace exists, so a rerun after a crash
 * removes exactly its own leftovers (and never another mesh's or a test's). Under /run: gone at reboot,
 * like the namespaces themselves.
 */
export const NETNS_RECORD_DIR = '/run/l4m-netns';

/** The node proxy's admin view listing the pod namespaces it has in-pod listeners in (the runtime waits on it). */
export const NETNS_ADMIN_VIEW = '/netns';
