// The processes `l4mesh up` runs for a local mesh, how each is started and how its health is checked.
import { HBONE_PORT, INBOUND_PORT, PROXY_ADMIN_PORT, PROXY_METRICS_PORT, PROXY_READINESS_PORT } from '../config/mesh-constants.js';
import { componentLogFile } from '../config/state-layout.js';
import { captureRange, controlPlaneUrl, nodeAddress, nodeName, type Layout } from './layout.js';
import { isAlive, type ProcessRecord } from './processes.js';
import { NETNS_PREFIX } from '../dataplane/capture/netns/plan.js';

export interface Component {
  name: string;
  /** Arguments of the l4mesh CLI that runs it. */
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
export const RUNTIME = 'runtime';
export const PROMETHEUS = 'prometheus';

export function ztunnelName(k: number): string {
  return `ztunnel-${nodeName(k)}`;
}

/** In start order: control plane, node proxies, then the runtime (pods need their node proxy). */
export function meshComponents(stateDir: string, layout: Layout): Component[] {
  const cp = layout.controlPlaneAddress;
  const list: Component[] = [
    {
      name: CONTROL_PLANE,
      args: ['control-plane', '--state-dir', stateDir, '--address', cp, '--grpc-port', String(layout.grpcPort), '--http-port', String(layout.httpPort), '--vip-range', layout.vipRange],
      address: `${cp}:${layout.grpcPort},${layout.httpPort}`,
      readyUrl: `${controlPlaneUrl(layout)}/ready`,
      listens: [layout.grpcPort, layout.httpPort].map((port) => ({ address: cp, port })),
      log: componentLogFile(stateDir, CONTROL_PLANE),
    },
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
        `${cp}:${layout.grpcPort}`,
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
