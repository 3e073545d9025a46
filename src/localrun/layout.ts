// Where a local mesh lives: the state directory and the loopback address plan of `l4mesh up`.
import { readFileSync, existsSync } from 'node:fs';
import { mkdir, writeFile, rename } from 'node:fs/promises';
import { L4meshError } from '../errors/index.js';
import {
  CONTROL_PLANE_GRPC_PORT,
  CONTROL_PLANE_HTTP_PORT,
  DEFAULT_CONTROL_PLANE_ADDRESS,
  DEFAULT_VIP_RANGE,
  ETCD_CLIENT_PORT,
  LOCAL_NODE_ADDRESS_PREFIX,
  LOCAL_POD_RANGE,
  NETNS_VIP_RANGE,
} from '../config/mesh-constants.js';
import { layoutFile } from '../config/state-layout.js';
import { FIRST_POD_HOST, LAST_POD_HOST, podIp } from '../dataplane/capture/netns/plan.js';

// The state dir's default and resolution are src/config/paths.ts's, shared by every command.
export { ENV_STATE_DIR, resolveStateDir } from '../config/paths.js';
/** `127.<b>`: moves the whole mesh into 127.<b>.0.0/16 (tests run meshes side by side this way). */
export const ENV_LOCAL_NET = 'L4MESH_LOCAL_NET';
/** Two nodes show cross-node HBONE without crowding a laptop. */
export const DEFAULT_NODES = 2;
/** The layout puts node-k's capture block at 127.b.(32k).0/19, so 7 nodes fit in a /16. */
export const MAX_NODES_WITH_BASE = 7;
export const MAX_NODES = 63;

/** Addresses of one local mesh, recorded at `up` so every later command uses the same plan. */
export interface Layout {
  /** The b of 127.b.0.0/16, or null for the DESIGN layout. */
  base: number | null;
  nodes: number;
  controlPlaneAddress: string;
  grpcPort: number;
  httpPort: number;
  vipRange: string;
  /** Pod IPs are allocated from these inclusive [first, last] integer ranges. */
  podRanges: Array<[string, string]>;
  /** The directory `l4mesh up` ran in: pods of manifests applied without a recorded directory run here. */
  workDir: string;
  /** `l4mesh up --ha`: control-plane replicas (the first is controlPlaneAddress) on a 3-member etcd. */
  ha?: HaLayout;
  /** `netns` for `up --mode netns` (DESIGN §2); absent for local mode. */
  mode?: MeshMode;
  /** netns mode: the prefix of every namespace the mesh makes (`l4m`; tests use `l4m-t<hex>`). */
  netnsPrefix?: string;
}

export interface HaLayout {
  /** Every replica's address; each listens on grpcPort and httpPort. */
  replicas: string[];
  /** etcd members, each on its own address with ETCD_CLIENT_PORT and ETCD_PEER_PORT. */
  etcd: Array<{ name: string; address: string }>;
}

/** Two replicas: one can die and the API, xDS and the CA keep serving. */
export const HA_REPLICAS = 2;
/** Three etcd members: the smallest cluster that keeps a quorum with one member down. */
export const HA_ETCD_MEMBERS = 3;

/** The HA addresses next to the control plane's: replicas count down from it, etcd members sit below them. */
export function haLayout(base: number | null): HaLayout {
  const octets = DEFAULT_CONTROL_PLANE_ADDRESS.split('.');
  const prefix = base === null ? octets.slice(0, 3).join('.') : `127.${base}.0`;
  const first = base === null ? Number(octets[3]) : 254;
  const step = base === null ? 1 : -1;
  const etcdFirst = base === null ? 11 : 241;
  return {
    replicas: Array.from({ length: HA_REPLICAS }, (_, i) => `${prefix}.${first + step * i}`),
    etcd: Array.from({ length: HA_ETCD_MEMBERS }, (_, i) => ({ name: `etcd-${i}`, address: `${prefix}.${etcdFirst + i}` })),
  };
}

/** Every replica's `host:port` for `port` (gRPC or HTTP), comma-separated, as --control-plane takes them. */
export function controlPlaneAddresses(layout: Pick<Layout, 'controlPlaneAddress' | 'ha'>, port: number): string {
  return (layout.ha?.replicas ?? [layout.controlPlaneAddress]).map((a) => `${a}:${port}`).join(',');
}

/** The etcd client URLs of an HA layout, as --etcd-endpoints takes them. */
export function etcdEndpoints(ha: HaLayout): string {
  return ha.etcd.map((m) => `http://${m.address}:${ETCD_CLIENT_PORT}`).join(',');
}

export type MeshMode = 'local' | 'netns';
/** Local mode needs no root and no compiler; netns mode is asked for. */
export const DEFAULT_MESH_MODE: MeshMode = 'local';

/**
 * netns mode's plan: the same loopback addresses for the control plane and the node proxies' admin,
 * metrics and readiness (so the CLI works from the host), service VIPs in NETNS_VIP_RANGE, and node-k's
 * pods in 198.18.k.0/24.
 */
export function makeNetnsLayout(base: number | null, nodes: number, workDir: string, netnsPrefix: string, ha = false): Layout {
  const layout = makeLayout(base, nodes, workDir, ha);
  const podRanges = Array.from({ length: nodes }, (_, i) => [podIp(i + 1, FIRST_POD_HOST), podIp(i + 1, LAST_POD_HOST)] as [string, string]);
  return { ...layout, vipRange: NETNS_VIP_RANGE, podRanges, mode: 'netns', netnsPrefix };
}

/** netns mode: the pod range of node k (pods take addresses of their node's subnet). */
export function nodePodRange(layout: Layout, k: number): Array<[string, string]> | undefined {
  if (layout.mode !== 'netns') return undefined;
  const range = layout.podRanges[k - 1];
  return range ? [range] : undefined;
}

export function parseLocalNet(value: string): number {
  const m = /^127\.(\d{1,3})$/.exec(value.trim()) ?? /^(\d{1,3})$/.exec(value.trim());
  const b = m ? Number(m[1]) : NaN;
  if (!(b >= 1 && b <= 254)) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `address base "${value}" is not 127.<b> with b in 1..254 (e.g. --address-base 127.130 or ${ENV_LOCAL_NET}=127.130)`);
  }
  return b;
}

export function makeLayout(base: number | null, nodes: number, workDir: string, ha = false): Layout {
  const layout = makePlainLayout(base, nodes, workDir);
  return ha ? { ...layout, ha: haLayout(base) } : layout;
}

function makePlainLayout(base: number | null, nodes: number, workDir: string): Layout {
  const limit = base === null ? MAX_NODES : MAX_NODES_WITH_BASE;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > limit) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `--nodes: ${nodes} is not a node count in 1..${limit}`);
  }
  if (base === null) {
    return {
      base,
      nodes,
      controlPlaneAddress: DEFAULT_CONTROL_PLANE_ADDRESS,
      grpcPort: CONTROL_PLANE_GRPC_PORT,
      httpPort: CONTROL_PLANE_HTTP_PORT,
      vipRange: DEFAULT_VIP_RANGE,
      podRanges: [hostRange(LOCAL_POD_RANGE)],
      workDir,
    };
  }
  return {
    base,
    nodes,
    controlPlaneAddress: `127.${base}.0.254`,
    grpcPort: CONTROL_PLANE_GRPC_PORT,
    httpPort: CONTROL_PLANE_HTTP_PORT,
    vipRange: `127.${base}.3.0/24`,
    podRanges: [[`127.${base}.1.1`, `127.${base}.2.254`]],
    workDir,
  };
}

export function nodeName(k: number): string {
  return `node-${k}`;
}

export function nodeAddress(layout: Layout, k: number): string {
  return layout.base === null ? `${LOCAL_NODE_ADDRESS_PREFIX}.${k}` : `127.${layout.base}.0.${k}`;
}

/** undefined: the node proxy's own default (127.(64+k).0.0/16). */
export function captureRange(layout: Layout, k: number): string | undefined {
  return layout.base === null ? undefined : `127.${layout.base}.${32 * k}.0/19`;
}

export function controlPlaneUrl(layout: Pick<Layout, 'controlPlaneAddress' | 'httpPort'>): string {
  return `http://${layout.controlPlaneAddress}:${layout.httpPort}`;
}

/** The recorded layout, else the one `up` would choose now (so `get` against a hand-started control plane works). */
export function readLayout(stateDir: string, env = process.env): Layout {
  const file = layoutFile(stateDir);
  if (existsSync(file)) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Layout;
    } catch (err) {
      throw new L4meshError('L4MESH_ERR_CONFIG', `${file} is not valid JSON (${(err as Error).message}); remove it and run "l4mesh up" again`);
    }
  }
  const net = env[ENV_LOCAL_NET];
  return makeLayout(net ? parseLocalNet(net) : null, DEFAULT_NODES, process.cwd());
}

export async function writeLayout(stateDir: string, layout: Layout): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  await writeJsonAtomic(layoutFile(stateDir), layout);
}

/** Write-then-rename, so a reader never sees half a file. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
  await rename(tmp, file);
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The first and last host address of an IPv4 CIDR (network and broadcast addresses left out). */
export function hostRange(cidr: string): [string, string] {
  const [ip, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const base = ipToInt(ip!) - (ipToInt(ip!) % size);
  return [intToIp(base + 1), intToIp(base + size - 2)];
}
