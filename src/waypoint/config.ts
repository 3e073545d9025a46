// Waypoint configuration: flags, the environment a pod gets from the runtime, and named defaults.
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { L4meshError } from '../errors/index.js';
import { isLogLevel, type LogLevel } from '../logging/logger.js';
import { DEFAULT_TCP_REPORTING_DURATION_MS } from '../dataplane/telemetry/connection-tracker.js';
import { parseDuration } from '../api/derive.js';
import { DEFAULT_CONTROL_PLANE, DEFAULT_DRAIN_MS, DEFAULT_STATE_DIR } from '../ztunnel/config.js';
import { DEFAULT_ROUTES_POLL_INTERVAL_MS } from './routes-client.js';

/** Istio names a namespace's waypoint `waypoint` (`istioctl waypoint apply` without --name). */
export const DEFAULT_WAYPOINT_NAME = 'waypoint';
/** The service account `l4mesh waypoint apply` creates, as Istio's waypoint Deployment uses its gateway name. */
export const DEFAULT_WAYPOINT_SERVICE_ACCOUNT = 'waypoint';
/** The control plane's HTTP port (resource API, /proxy/v1/routes), next to xDS on 15012. */
export const CONTROL_PLANE_HTTP_PORT = 15014;

/** What the local runtime (and Kubernetes' downward API) gives a pod. */
export const ENV = {
  podIp: 'POD_IP',
  podName: 'POD_NAME',
  podNamespace: 'POD_NAMESPACE',
  node: 'NODE_NAME',
  serviceAccount: 'SERVICE_ACCOUNT',
  stateDir: 'L4MESH_STATE_DIR',
  controlPlane: 'CA_ADDRESS',
  logLevel: 'RUST_LOG',
} as const;

export interface WaypointConfig {
  namespace: string;
  name: string;
  address: string;
  node: string;
  serviceAccount: string;
  podName: string;
  controlPlane: string;
  controlPlaneHttp: string;
  tokenFile: string;
  rootCertFile: string;
  stateDir: string;
  logFormat: 'text' | 'json';
  logLevel: LogLevel;
  tcpReportingDurationMs: number;
  routesPollMs: number;
  drainMs: number;
}

export const WAYPOINT_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  name: { type: 'string' },
  address: { type: 'string' },
  node: { type: 'string' },
  'service-account': { type: 'string' },
  'control-plane': { type: 'string' },
  'control-plane-http': { type: 'string' },
  'token-file': { type: 'string' },
  'root-cert': { type: 'string' },
  'state-dir': { type: 'string' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  'tcp-reporting-duration': { type: 'string' },
  'routes-poll-interval': { type: 'string' },
  'drain-duration': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
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
  const stateDir = values['state-dir'] ?? (env[ENV.stateDir] || DEFAULT_STATE_DIR);
  const controlPlane = values['control-plane'] ?? (env[ENV.controlPlane] || DEFAULT_CONTROL_PLANE);
  if (!HOST_PORT.test(controlPlane)) throw new L4meshError('L4MESH_ERR_CONFIG', `--control-plane: "${controlPlane}" is not HOST:PORT (e.g. 127.0.0.1:15012)`);
  const controlPlaneHttp = values['control-plane-http'] ?? `${controlPlane.slice(0, controlPlane.lastIndexOf(':'))}:${CONTROL_PLANE_HTTP_PORT}`;
  if (!HOST_PORT.test(controlPlaneHttp)) throw new L4meshError('L4MESH_ERR_CONFIG', `--control-plane-http: "${controlPlaneHttp}" is not HOST:PORT`);
  const logFormat = values['log-format'] ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new L4meshError('L4MESH_ERR_CONFIG', `--log-format: "${logFormat}" must be text or json`);
  const logLevel = values['log-level'] ?? (env[ENV.logLevel] || 'info');
  if (!isLogLevel(logLevel)) throw new L4meshError('L4MESH_ERR_CONFIG', `--log-level: "${logLevel}" must be one of error, warn, info, debug, trace`);
  const reporting = values['tcp-reporting-duration'];
  return {
    namespace,
    name,
    address,
    node,
    serviceAccount: values['service-account'] ?? (env[ENV.serviceAccount] || DEFAULT_WAYPOINT_SERVICE_ACCOUNT),
    podName: env[ENV.podName] || name,
    controlPlane,
    controlPlaneHttp,
    tokenFile: values['token-file'] ?? join(stateDir, 'tokens', `${node}.token`),
    rootCertFile: values['root-cert'] ?? join(stateDir, 'ca', 'root-cert.pem'),
    stateDir,
    logFormat,
    logLevel,
    tcpReportingDurationMs: reporting ? parseDuration(reporting) : DEFAULT_TCP_REPORTING_DURATION_MS,
    routesPollMs: values['routes-poll-interval'] ? parseDuration(values['routes-poll-interval']) : DEFAULT_ROUTES_POLL_INTERVAL_MS,
    drainMs: values['drain-duration'] ? parseDuration(values['drain-duration']) : DEFAULT_DRAIN_MS,
  };
}

/** `waypoint~<ip>~<name>.<namespace>~<namespace>.svc.cluster.local` (Istio's node id shape). */
export function waypointNodeId(config: Pick<WaypointConfig, 'address' | 'podName' | 'namespace'>): string {
  return `waypoint~${config.address}~${config.podName}.${config.namespace}~${config.namespace}.svc.cluster.local`;
}
