// Node proxy ("ztunnel") configuration: flags, environment variables and named defaults.
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { L4meshError } from '../errors/index.js';
import { CLUSTER_DOMAIN, LOCAL_CAPTURE_RANGE, LOCAL_NODE_ADDRESS_PREFIX } from '../config/mesh-constants.js';
import { PROXY_ENV, PROXY_OPTIONS, proxyCommonConfig, type ProxyCommonConfig } from '../dataplane/proxy/proxy-options.js';
import { defaultNodeAddress } from '../dataplane/outbound/node-proxy-address.js';
import { NETNS_PREFIX } from '../dataplane/capture/netns/plan.js';

export { DEFAULT_CONTROL_PLANE, DEFAULT_DRAIN_MS, DEFAULT_STATE_DIR } from '../dataplane/proxy/proxy-options.js';

export const ENV = PROXY_ENV;

export interface ZtunnelConfig extends ProxyCommonConfig {
  node: string;
  address: string;
  captureRange: string;
  /** The proxy's name in the mesh, `ztunnel-<node>` in namespace istio-system. */
  proxyName: string;
  proxyNamespace: string;
  /** How local workloads' traffic reaches the proxy: local mode's listeners, or netns mode's in-pod capture. */
  capture: CaptureMode;
  /** netns mode: the prefix of every namespace of this mesh (pod namespaces are `<prefix>-<node>-<pod>`). */
  netnsPrefix: string;
}

export type CaptureMode = 'local' | 'netns';
/** Local mode needs nothing of the host; netns mode is chosen by `l4mesh up --mode netns`. */
export const DEFAULT_CAPTURE_MODE: CaptureMode = 'local';

/**
 * Each node proxy needs its own outbound-listener range (they share one loopback): node-k gets
 * 127.(64+k).0.0/16 inside LOCAL_CAPTURE_RANGE, room for 256 local workloads.
 */
export function defaultCaptureRange(node: string): string | undefined {
  const m = /^node-(\d+)$/.exec(node);
  if (!m) return undefined;
  const k = Number(m[1]);
  return k >= 1 && k <= 63 ? `127.${64 + k}.0.0/16` : undefined;
}

export function nodeId(config: Pick<ZtunnelConfig, 'address' | 'proxyName' | 'proxyNamespace'>): string {
  return `ztunnel~${config.address}~${config.proxyName}.${config.proxyNamespace}~${config.proxyNamespace}.svc.${CLUSTER_DOMAIN}`;
}

export const ZTUNNEL_OPTIONS = {
  node: { type: 'string' },
  address: { type: 'string' },
  'capture-range': { type: 'string' },
  capture: { type: 'string' },
  'netns-prefix': { type: 'string' },
  ...PROXY_OPTIONS,
} as const;

export function ztunnelConfig(args: string[], env = process.env): ZtunnelConfig | 'help' {
  const { values } = parseArgs({ args, options: ZTUNNEL_OPTIONS, strict: true });
  if (values.help) return 'help';
  const node = values.node;
  if (!node) throw new L4meshError('L4MESH_ERR_CONFIG', '--node NAME is required (e.g. --node node-1)');
  const address = values.address ?? defaultNodeAddress(node);
  if (!address) throw new L4meshError('L4MESH_ERR_CONFIG', `--address IP is required for node "${node}" (only node-<k> has a default, ${LOCAL_NODE_ADDRESS_PREFIX}.<k>)`);
  if (isIP(address) === 0) throw new L4meshError('L4MESH_ERR_CONFIG', `--address: "${address}" is not an IP address`);
  const capture = values.capture ?? DEFAULT_CAPTURE_MODE;
  if (capture !== 'local' && capture !== 'netns') throw new L4meshError('L4MESH_ERR_CONFIG', `--capture: "${capture}" is not local or netns`);
  const netnsPrefix = values['netns-prefix'] ?? NETNS_PREFIX;
  if (!/^l4m(-[a-z0-9]+)?$/.test(netnsPrefix)) throw new L4meshError('L4MESH_ERR_CONFIG', `--netns-prefix: "${netnsPrefix}" must be l4m or l4m-<letters/digits>`);
  // netns mode has no outbound listeners on the host; the range is unused there.
  const captureRange = values['capture-range'] ?? defaultCaptureRange(node) ?? (capture === 'netns' ? '' : undefined);
  if (captureRange === undefined) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `--capture-range CIDR is required for node "${node}" (only node-1..node-63 have a default inside ${LOCAL_CAPTURE_RANGE})`);
  }
  return {
    ...proxyCommonConfig(values, node, env),
    node,
    address,
    captureRange,
    proxyName: `ztunnel-${node}`,
    proxyNamespace: 'istio-system',
    capture,
    netnsPrefix,
  };
}
