// Sidecar configuration: flags, environment variables (the pod's downward-API variables) and defaults.
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { L4meshError } from '../errors/index.js';
import { CLUSTER_DOMAIN } from '../config/mesh-constants.js';
import { PROXY_ENV, PROXY_OPTIONS, proxyCommonConfig, type ProxyCommonConfig } from '../dataplane/proxy/proxy-options.js';

/** What the local runtime (like Kubernetes' downward API) puts in a pod's environment. */
export const SIDECAR_ENV = { podIp: 'POD_IP', node: 'NODE_NAME', ...PROXY_ENV } as const;

export interface SidecarConfig extends ProxyCommonConfig {
  namespace: string;
  /** The Pod this sidecar serves. */
  pod: string;
  address: string;
  node: string;
  captureRange: string;
  /**
   * `--label K=V`: labels this sidecar announces in its peer metadata on top of the registry's (a later
   * value wins), like Istio's ISTIO_METAJSON_LABELS. Peers report them; the registry never sees them.
   */
  extraLabels: Record<string, string>;
}

/** Istio's node id of a sidecar: `sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.<cluster domain>`. */
export function sidecarNodeId(config: Pick<SidecarConfig, 'address' | 'pod' | 'namespace'>): string {
  return `sidecar~${config.address}~${config.pod}.${config.namespace}~${config.namespace}.svc.${CLUSTER_DOMAIN}`;
}

export const SIDECAR_OPTIONS = {
  workload: { type: 'string' },
  address: { type: 'string' },
  node: { type: 'string' },
  'capture-range': { type: 'string' },
  label: { type: 'string', multiple: true },
  ...PROXY_OPTIONS,
} as const;

function parseLabels(values: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new L4meshError('L4MESH_ERR_CONFIG', `--label: "${v}" is not KEY=VALUE (e.g. --label version=v2)`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

export function sidecarConfig(args: string[], env = process.env): SidecarConfig | 'help' {
  const { values } = parseArgs({ args, options: SIDECAR_OPTIONS, strict: true });
  if (values.help) return 'help';
  const workload = values.workload ?? '';
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(workload);
  if (!m) throw new L4meshError('L4MESH_ERR_CONFIG', `--workload NAMESPACE/POD is required (got "${workload}", e.g. --workload default/ratings-v1-7d9f8-abcde)`);
  const address = values.address ?? env[SIDECAR_ENV.podIp] ?? '';
  if (!address) throw new L4meshError('L4MESH_ERR_CONFIG', `--address IP is required (or ${SIDECAR_ENV.podIp}): the sidecar listens on its pod's IP`);
  if (isIP(address) === 0) throw new L4meshError('L4MESH_ERR_CONFIG', `--address: "${address}" is not an IP address`);
  const node = values.node ?? env[SIDECAR_ENV.node] ?? '';
  if (!node) throw new L4meshError('L4MESH_ERR_CONFIG', `--node NAME is required (or ${SIDECAR_ENV.node}): its node token obtains the workload's certificate`);
  const captureRange = values['capture-range'];
  if (!captureRange) {
    throw new L4meshError('L4MESH_ERR_CONFIG', '--capture-range CIDR is required: a /24 of loopback addresses for the outbound listeners of this one workload, outside every node proxy\'s range');
  }
  return {
    ...proxyCommonConfig(values, node, env),
    namespace: m[1]!,
    pod: m[3]!,
    address,
    node,
    captureRange,
    extraLabels: parseLabels(values.label),
  };
}
