// Waypoint configuration: flags, the environment a pod gets from the runtime, and named defaults.
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { L4meshError } from '../errors/index.js';
import { parseDuration } from '../api/derive.js';
import { CLUSTER_DOMAIN, CONTROL_PLANE_HTTP_PORT, DEFAULT_TRUST_DOMAIN, ENV_TRUST_DOMAIN } from '../config/mesh-constants.js';
import { PROXY_ENV, PROXY_OPTIONS, proxyCommonConfig, type ProxyCommonConfig } from '../dataplane/proxy/proxy-options.js';
import { DEFAULT_ROUTES_POLL_INTERVAL_MS } from './routes-client.js';

/** Istio names a namespace's waypoint `waypoint` (`istioctl waypoint apply` without --name). */
export const DEFAULT_WAYPOINT_NAME = 'waypoint';
/** The service account `l4mesh waypoint apply` creates, as Istio's waypoint Deployment uses its gateway name. */
export const DEFAULT_WAYPOINT_SERVICE_ACCOUNT = 'waypoint';

/** What the local runtime (and Kubernetes' downward API) gives a pod. */
export const ENV = {
  podIp: 'POD_IP',
  podName: 'POD_NAME',
  podNamespace: 'POD_NAMESPACE',
  node: 'NODE_NAME',
  serviceAccount: 'SERVICE_ACCOUNT',
  trustDomain: ENV_TRUST_DOMAIN,
  ...PROXY_ENV,
} as const;

export interface WaypointConfig extends ProxyCommonConfig {
  namespace: string;
  name: string;
  address: string;
  node: string;
  serviceAccount: string;
  /** Trust domain of the waypoint's own SPIFFE identity: the control plane's (`--trust-domain`). */
  trustDomain: string;
  podName: string;
  controlPlaneHttp: string;
  routesPollMs: number;
  /** Where an HBONE endpoint is tunnelled to: its node proxy (local mode), or its own pod IP (netns mode). */
  hboneTarget: HboneTarget;
}

export type HboneTarget = 'node' | 'pod';
/** Local mode: node proxies take HBONE on their node address; netns mode's `waypoint apply` asks for `pod`. */
export const DEFAULT_HBONE_TARGET: HboneTarget = 'node';

export const WAYPOINT_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  name: { type: 'string' },
  address: { type: 'string' },
  node: { type: 'string' },
  'service-account': { type: 'string' },
  'trust-domain': { type: 'string' },
  'control-plane-http': { type: 'string' },
  'routes-poll-interval': { type: 'string' },
  'hbone-target': { type: 'string' },
  ...PROXY_OPTIONS,
} as const;

const HOST_PORT = /^[^\s]+:\d+$/;

export function waypointConfig(args: string[], env: NodeJS.ProcessEnv = process.env): WaypointConfig | 'help' {
  const { values } = parseArgs({ args, options: WAYPOINT_OPTIONS, strict: true });
  if (values.help) return 'help';
  const namespace = values.namespace ?? env[ENV.podNamespace];
  if (!namespace) throw new L4meshError('L4MESH_ERR_CONFIG', '--namespace NS is required (the namespace whose services this waypoint serves)');
  const name = values.name ?? DEFAULT_WAYPOINT_NAME;
  const address = values.address ?? env[ENV.podIp];
  if (!address) throw new L4meshError('L4MESH_ERR_CONFIG', `--address IP is required when ${ENV.podIp} is not set (the waypoint pod's IP)`);
  if (isIP(address) === 0) throw new L4meshError('L4MESH_ERR_CONFIG', `--address: "${address}" is not an IP address`);
  const node = values.node ?? env[ENV.node];
  if (!node) throw new L4meshError('L4MESH_ERR_CONFIG', `--node NAME is required when ${ENV.node} is not set (its node token authenticates the waypoint)`);
  const common = proxyCommonConfig(values, node, env);
  const { controlPlane } = common;
  const firstControlPlane = controlPlane.split(',')[0]!;
  const controlPlaneHttp = values['control-plane-http'] ?? `${firstControlPlane.slice(0, firstControlPlane.lastIndexOf(':'))}:${CONTROL_PLANE_HTTP_PORT}`;
  if (!HOST_PORT.test(controlPlaneHttp)) throw new L4meshError('L4MESH_ERR_CONFIG', `--control-plane-http: "${controlPlaneHttp}" is not HOST:PORT`);
  const hboneTarget = values['hbone-target'] ?? DEFAULT_HBONE_TARGET;
  if (hboneTarget !== 'node' && hboneTarget !== 'pod') throw new L4meshError('L4MESH_ERR_CONFIG', `--hbone-target: "${hboneTarget}" is not node or pod`);
  return {
    ...common,
    hboneTarget,
    namespace,
    name,
    address,
    node,
    serviceAccount: values['service-account'] ?? (env[ENV.serviceAccount] || DEFAULT_WAYPOINT_SERVICE_ACCOUNT),
    trustDomain: values['trust-domain'] ?? (env[ENV.trustDomain] || DEFAULT_TRUST_DOMAIN),
    podName: env[ENV.podName] || name,
    controlPlaneHttp,
    routesPollMs: values['routes-poll-interval'] ? parseDuration(values['routes-poll-interval']) : DEFAULT_ROUTES_POLL_INTERVAL_MS,
  };
}

/** `waypoint~<ip>~<name>.<namespace>~<namespace>.svc.<cluster domain>` (Istio's node id shape). */
export function waypointNodeId(config: Pick<WaypointConfig, 'address' | 'podName' | 'namespace'>): string {
  return `waypoint~${config.address}~${config.podName}.${config.namespace}~${config.namespace}.svc.${CLUSTER_DOMAIN}`;
}
