// The processes `l4mesh up` runs for a local mesh, how each is started and how its health is checked.
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT, HBONE_PORT, INBOUND_PORT, PROXY_ADMIN_PORT, PROXY_METRICS_PORT, PROXY_READINESS_PORT } from '../config/mesh-constants.js';
import { componentLogFile, etcdDataDir } from '../config/state-layout.js';
import { captureRange, controlPlaneAddresses, controlPlaneUrl, etcdEndpoints, nodeAddress, nodeName, type HaLayout, type Layout } from './layout.js';
import { packageRoot } from '../config/paths.js';
import { isAlive, selfCommand, spawnDetached, type ProcessRecord } from './processes.js';
import { NETNS_PREFIX } from '../dataplane/capture/netns/plan.js';
import { NetnsTopology } from '../dataplane/capture/netns/topology.js';
import { MAX_DOCUMENTS, MAX_MANIFEST_BYTES } from '../api/manifest-limits.js';

export interface Component {
  name: string;
  /** The program, when it is not the l4mesh CLI (etcd members of `up --ha`). */
  program?: string;
  /** Arguments of the l4mesh CLI that runs it (or of `program`). */
  args: string[];
  /** Where it listens, for `up` and `status`. */
  address: string;
  /** Readiness URL; undefined: alive means ready. */
  readyUrl?: string;
  /** The TCP listeners it opens: `up` checks they are free first and that this process holds them once ready. */
  listens: Array<{ address: string; port: number }>;
  log: string;
}

export type ComponentStatus = 'Ready' | 'NotReady' | 'Running' | 'Stopped';

export const CONTROL_PLANE = 'control-plane';
/** Names of `up --ha`'s etcd members start with this (`etcd-0`...); `down` stops them last. */
export const ETCD_MEMBER_PREFIX = 'etcd-';
export const RUNTIME = 'runtime';
export const PROMETHEUS = 'prometheus';

export function ztunnelName(k: number): string {
  return `ztunnel-${nodeName(k)}`;
}

/** The name of control-plane replica `i` (0-based): the first keeps the single control plane's name. */
export function controlPlaneName(i: number): string {
  return i === 0 ? CONTROL_PLANE : `${CONTROL_PLANE}-${i + 1}`;
}

/**
 * `up --ha`'s etcd: an apply is one transaction, so the members take as many operations as the API takes
 * documents in one request (etcd's default is 128), and a request as large as the API's largest manifest
 * twice over (the stored JSON carries server fields too; etcd's default is 1.5 MiB).
 */
const HA_ETCD_MAX_TXN_OPS = MAX_DOCUMENTS;
const HA_ETCD_MAX_REQUEST_BYTES = 2 * MAX_MANIFEST_BYTES;

/** `up --ha`'s etcd members: one cluster on loopback, data in the state dir. */
function etcdComponents(stateDir: string, ha: HaLayout): Component[] {
  const cluster = ha.etcd.map((m) => `${m.name}=http://${m.address}:${ETCD_PEER_PORT}`).join(',');
  return ha.etcd.map((m) => {
    const client = `http://${m.address}:${ETCD_CLIENT_PORT}`;
    const peer = `http://${m.address}:${ETCD_PEER_PORT}`;
    return {
      name: m.name,
      program: 'etcd',
      args: [
        '--name', m.name, '--data-dir', etcdDataDir(stateDir, m.name),
        '--listen-client-urls', client, '--advertise-client-urls', client,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
        '--initial-cluster', cluster, '--initial-cluster-state', 'new', '--initial-cluster-token', `l4mesh-${ha.etcd[0]!.address}`,
        '--max-txn-ops', String(HA_ETCD_MAX_TXN_OPS), '--max-request-bytes', String(HA_ETCD_MAX_REQUEST_BYTES),
      ],
      address: `${m.address}:${ETCD_CLIENT_PORT},${ETCD_PEER_PORT}`,
      // Not /health: a member answers it only once the cluster has a leader, which needs a second member started.
      listens: [ETCD_CLIENT_PORT, ETCD_PEER_PORT].map((port) => ({ address: m.address, port })),
      log: componentLogFile(stateDir, m.name),
    };
  });
}

/**
 * netns mode: the first replica also listens in the fabric namespace on FABRIC_CONTROL_PLANE_IP (the one
 * address DESIGN §2 gives the control plane there), where pods such as waypoints reach it; the host's
 * loopback is not reachable from a pod's namespace.
 */
function fabricArgs(layout: Layout, replica: number): string[] {
  if (layout.mode !== 'netns' || replica !== 0) return [];
  return ['--fabric-netns', new NetnsTopology(layout.netnsPrefix ?? NETNS_PREFIX).fabricName()];
}

/** In start order: etcd (HA), control plane(s), node proxies, then the runtime (pods need their node proxy). */
export function meshComponents(stateDir: string, layout: Layout): Component[] {
  const replicas = layout.ha?.replicas ?? [layout.controlPlaneAddress];
  const store = layout.ha ? ['--store', 'etcd', '--etcd-endpoints', etcdEndpoints(layout.ha), '--etcd-max-txn-ops', String(HA_ETCD_MAX_TXN_OPS)] : [];
  const list: Component[] = [
    ...(layout.ha ? etcdComponents(stateDir, layout.ha) : []),
    ...replicas.map((cp, i) => ({
      name: controlPlaneName(i),
      args: ['control-plane', '--state-dir', stateDir, '--address', cp, '--grpc-port', String(layout.grpcPort), '--http-port', String(layout.httpPort), '--vip-range', layout.vipRange, ...store, ...fabricArgs(layout, i)],
      address: `${cp}:${layout.grpcPort},${layout.httpPort}`,
      readyUrl: `${controlPlaneUrl({ controlPlaneAddress: cp, httpPort: layout.httpPort })}/ready`,
      listens: [layout.grpcPort, layout.httpPort].map((port) => ({ address: cp, port })),
      log: componentLogFile(stateDir, controlPlaneName(i)),
    })),
  ];
  for (let k = 1; k <= layout.nodes; k++) {
    const address = nodeAddress(layout, k);
    const capture = captureRange(layout, k);
    list.push({
      name: ztunnelName(k),
      args: [
        'ztunnel',
        '--node',
        nodeName(k),
        '--address',
        address,
        '--control-plane',
        controlPlaneAddresses(layout, layout.grpcPort),
        '--state-dir',
        stateDir,
        ...(capture ? ['--capture-range', capture] : []),
        ...(layout.mode === 'netns' ? ['--capture', 'netns', '--netns-prefix', layout.netnsPrefix ?? NETNS_PREFIX] : []),
      ],
      address: `${address}:${HBONE_PORT}`,
      readyUrl: `http://${address}:${PROXY_READINESS_PORT}/healthz/ready`,
      listens: [HBONE_PORT, INBOUND_PORT, PROXY_ADMIN_PORT, PROXY_METRICS_PORT, PROXY_READINESS_PORT].map((port) => ({ address, port })),
      log: componentLogFile(stateDir, ztunnelName(k)),
    });
  }
  list.push({ name: RUNTIME, args: ['runtime', '--state-dir', stateDir], address: '-', listens: [], log: componentLogFile(stateDir, RUNTIME) });
  return list;
}

/** Whether the runtime's supervisor restarts `c` when it exits: every control-plane replica, etcd member and node proxy. */
export function isSupervised(c: Component): boolean {
  return c.name === CONTROL_PLANE || c.name.startsWith(`${CONTROL_PLANE}-`) || c.name.startsWith(ETCD_MEMBER_PREFIX) || c.name.startsWith('ztunnel-');
}

/** Starts `c` detached with output to its log: the l4mesh CLI from the package root (so `--import tsx` resolves), or its own program. */
export function spawnComponent(c: Component, stateDir: string): Promise<ProcessRecord> {
  if (c.program) return spawnDetached(c.program, c.args, c.log, { cwd: stateDir });
  const self = selfCommand();
  return spawnDetached(self.command, [...self.args, ...c.args], c.log, { cwd: packageRoot() });
}

/** How long `up` and `status` wait for one readiness answer. */
const PROBE_TIMEOUT_MS = 2_000;

export async function probeReady(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.text();
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function componentStatus(rec: ProcessRecord | undefined, readyUrl: string | undefined): Promise<ComponentStatus> {
  if (!rec || !isAlive(rec)) return 'Stopped';
  if (!readyUrl) return 'Running';
  return (await probeReady(readyUrl)) ? 'Ready' : 'NotReady';
}
