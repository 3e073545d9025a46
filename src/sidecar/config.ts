// Sidecar configuration: flags, environment variables (the pod's downward-API variables) and defaults.
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { L4meshError } from '../errors/index.js';
import { isLogLevel, type LogLevel } from '../logging/logger.js';
import { DEFAULT_TCP_REPORTING_DURATION_MS } from '../dataplane/telemetry/connection-tracker.js';
import { DEFAULT_SERIES_EXPIRY_GRACE_MS } from '../dataplane/telemetry/metrics.js';
import { parseDuration } from '../api/derive.js';
import { DEFAULT_CONTROL_PLANE, DEFAULT_DRAIN_MS, DEFAULT_STATE_DIR, ENV as ZTUNNEL_ENV } from '../ztunnel/config.js';

/** Ports of DESIGN §1 for the sidecar role, bound on the workload's pod IP. */
export const SIDECAR_PORTS = { inbound: 15006, admin: 15000, metrics: 15020, readiness: 15021 } as const;

/** What the local runtime (like Kubernetes' downward API) puts in a pod's environment. */
export const SIDECAR_ENV = { podIp: 'POD_IP', node: 'NODE_NAME', ...ZTUNNEL_ENV } as const;

export interface SidecarConfig {
  namespace: string;
  /** The Pod this sidecar serves. */
  pod: string;
  address: string;
  node: string;
  controlPlane: string;
  tokenFile: string;
  rootCertFile: string;
  stateDir: string;
  captureRange: string;
  logFormat: 'text' | 'json';
  logLevel: LogLevel;
  tcpReportingDurationMs: number;
  metricsExpiryGraceMs: number;
  drainMs: number;
  clusterId: string;
  /**
   * `--label K=V`: labels this sidecar announces in its peer metadata on top of the registry's (a later
   * value wins), like Istio's ISTIO_METAJSON_LABELS. Peers report them; the registry never sees them.
   */
  extraLabels: Record<string, string>;
}

/** Istio's node id of a sidecar: `sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local`. */
export function sidecarNodeId(config: Pick<SidecarConfig, 'address' | 'pod' | 'namespace'>): string {
  return `sidecar~${config.address}~${config.pod}.${config.namespace}~${config.namespace}.svc.cluster.local`;
}

export const SIDECAR_OPTIONS = {
  workload: { type: 'string' },
  address: { type: 'string' },
  node: { type: 'string' },
  'control-plane': { type: 'string' },
  'token-file': { type: 'string' },
  'root-cert': { type: 'string' },
  'state-dir': { type: 'string' },
  'capture-range': { type: 'string' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  'tcp-reporting-duration': { type: 'string' },
  'metrics-expiry-grace': { type: 'string' },
  'drain-duration': { type: 'string' },
  'cluster-id': { type: 'string' },
  label: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
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
  const stateDir = values['state-dir'] ?? (env[SIDECAR_ENV.stateDir] || DEFAULT_STATE_DIR);
  const controlPlane = values['control-plane'] ?? (env[SIDECAR_ENV.controlPlane] || DEFAULT_CONTROL_PLANE);
  if (!/^[^\s]+:\d+$/.test(controlPlane)) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `--control-plane: "${controlPlane}" is not HOST:PORT (e.g. 127.0.0.1:15012)`);
  }
  const logFormat = values['log-format'] ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new L4meshError('L4MESH_ERR_CONFIG', `--log-format: "${logFormat}" must be text or json`);
  const logLevel = values['log-level'] ?? (env[SIDECAR_ENV.logLevel] || 'info');
  if (!isLogLevel(logLevel)) throw new L4meshError('L4MESH_ERR_CONFIG', `--log-level: "${logLevel}" must be one of error, warn, info, debug, trace`);
  const reporting = values['tcp-reporting-duration'] ?? env[SIDECAR_ENV.tcpReportingDuration];
  return {
    namespace: m[1]!,
    pod: m[3]!,
    address,
    node,
    controlPlane,
    tokenFile: values['token-file'] ?? join(stateDir, 'tokens', `${node}.token`),
    rootCertFile: values['root-cert'] ?? join(stateDir, 'ca', 'root-cert.pem'),
    stateDir,
    captureRange,
    logFormat,
    logLevel,
    tcpReportingDurationMs: reporting ? parseDuration(reporting) : DEFAULT_TCP_REPORTING_DURATION_MS,
    metricsExpiryGraceMs: values['metrics-expiry-grace'] !== undefined ? parseDuration(values['metrics-expiry-grace']) : DEFAULT_SERIES_EXPIRY_GRACE_MS,
    drainMs: values['drain-duration'] ? parseDuration(values['drain-duration']) : DEFAULT_DRAIN_MS,
    clusterId: values['cluster-id'] ?? 'Kubernetes',
    extraLabels: parseLabels(values.label),
  };
}
