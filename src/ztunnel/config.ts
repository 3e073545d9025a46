// Node proxy ("ztunnel") configuration: flags, environment variables and named defaults.
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { L4meshError } from '../errors/index.js';
import { CLUSTER_DOMAIN, LOCAL_CAPTURE_RANGE, LOCAL_NODE_ADDRESS_PREFIX } from '../config/mesh-constants.js';
import { PROXY_ENV, PROXY_OPTIONS, proxyCommonConfig, type ProxyCommonConfig } from '../dataplane/proxy/proxy-options.js';
import { defaultNodeAddress } from '../dataplane/outbound/node-proxy-address.js';

export { DEFAULT_CONTROL_PLANE, DEFAULT_DRAIN_MS, DEFAULT_STATE_DIR } from '../dataplane/proxy/proxy-options.js';

export const ENV = PROXY_ENV;

export interface ZtunnelConfig extends ProxyCommonConfig {
  node: string;
  address: string;
  captureRange: string;
  /** The proxy's name in the mesh, `ztunnel-<node>` in namespace istio-system. */
  proxyName: string;
  proxyNamespace: string;
}

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
  const captureRange = values['capture-range'] ?? defaultCaptureRange(node);
  if (!captureRange) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `--capture-range CIDR is required for node "${node}" (only node-1..node-63 have a default inside ${LOCAL_CAPTURE_RANGE})`);
  }
  return {
    ...proxyCommonConfig(values, node, env),
    node,
    address,
    captureRange,
    proxyName: `ztunnel-${node}`,
    proxyNamespace: 'istio-system',
  };
}
