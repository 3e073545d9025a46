// Node proxy ("ztunnel") configuration: flags, environment variables and named defaults.
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { L4meshError } from '../errors/index.js';
import { isLogLevel, type LogLevel } from '../logging/logger.js';
import { DEFAULT_CAPTURE_RANGE } from '../dataplane/capture/address-blocks.js';
import { DEFAULT_TCP_REPORTING_DURATION_MS } from '../dataplane/telemetry/connection-tracker.js';
import { DEFAULT_SERIES_EXPIRY_GRACE_MS } from '../dataplane/telemetry/metrics.js';
import { parseDuration } from '../api/derive.js';

/** Ports of DESIGN §1; every proxy binds them on its own address. */
export const PORTS = { hbone: 15008, inboundPlaintext: 15006, admin: 15000, metrics: 15020, readiness: 15021 } as const;
/** Where the control plane listens by default (`l4mesh up` starts it there). */
export const DEFAULT_CONTROL_PLANE = '127.0.0.1:15012';
export const DEFAULT_STATE_DIR = '.l4mesh';
/** How long SIGTERM lets open connections finish before cutting them. */
export const DEFAULT_DRAIN_MS = 5_000;

export const ENV = {
  stateDir: 'L4MESH_STATE_DIR',
  controlPlane: 'CA_ADDRESS',
  tcpReportingDuration: 'TCP_REPORTING_DURATION',
  logLevel: 'RUST_LOG',
} as const;

export interface ZtunnelConfig {
  node: string;
  address: string;
  controlPlane: string;
  tokenFile: string;
  rootCertFile: string;
  stateDir: string;
  captureRange: string;
  logFormat: 'text' | 'json';
  logLevel: LogLevel;
  tcpReportingDurationMs: number;
  /** How long idle series of a workload that left the mesh stay on /metrics (`--metrics-expiry-grace`). */
  metricsExpiryGraceMs: number;
  drainMs: number;
  clusterId: string;
  /** The proxy's name in the mesh, `ztunnel-<node>` in namespace istio-system. */
  proxyName: string;
  proxyNamespace: string;
}

/** Local mode gives node-k the address 127.0.10.k, so many node proxies share one host. */
export function defaultNodeAddress(node: string): string | undefined {
  const m = /^node-(\d+)$/.exec(node);
  if (!m) return undefined;
  const k = Number(m[1]);
  return k >= 1 && k <= 254 ? `127.0.10.${k}` : undefined;
}

/**
 * Each node proxy needs its own outbound-listener range (they share one loopback): node-k gets
 * 127.(64+k).0.0/16 inside DEFAULT_CAPTURE_RANGE, room for 256 local workloads.
 */
export function defaultCaptureRange(node: string): string | undefined {
  const m = /^node-(\d+)$/.exec(node);
  if (!m) return undefined;
  const k = Number(m[1]);
  return k >= 1 && k <= 63 ? `127.${64 + k}.0.0/16` : undefined;
}

export function nodeId(config: Pick<ZtunnelConfig, 'address' | 'proxyName' | 'proxyNamespace'>): string {
  return `ztunnel~${config.address}~${config.proxyName}.${config.proxyNamespace}~${config.proxyNamespace}.svc.cluster.local`;
}

export const ZTUNNEL_OPTIONS = {
  node: { type: 'string' },
  address: { type: 'string' },
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
  help: { type: 'boolean', short: 'h' },
} as const;

export function ztunnelConfig(args: string[], env = process.env): ZtunnelConfig | 'help' {
  const { values } = parseArgs({ args, options: ZTUNNEL_OPTIONS, strict: true });
  if (values.help) return 'help';
  const node = values.node;
  if (!node) throw new L4meshError('L4MESH_ERR_CONFIG', '--node NAME is required (e.g. --node node-1)');
  const address = values.address ?? defaultNodeAddress(node);
  if (!address) throw new L4meshError('L4MESH_ERR_CONFIG', `--address IP is required for node "${node}" (only node-<k> has a default, 127.0.10.<k>)`);
  if (isIP(address) === 0) throw new L4meshError('L4MESH_ERR_CONFIG', `--address: "${address}" is not an IP address`);
  const stateDir = values['state-dir'] ?? (env[ENV.stateDir] || DEFAULT_STATE_DIR);
  const controlPlane = values['control-plane'] ?? (env[ENV.controlPlane] || DEFAULT_CONTROL_PLANE);
  if (!/^[^\s]+:\d+$/.test(controlPlane)) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `--control-plane: "${controlPlane}" is not HOST:PORT (e.g. 127.0.0.1:15012)`);
  }
  const logFormat = values['log-format'] ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') {
    throw new L4meshError('L4MESH_ERR_CONFIG', `--log-format: "${logFormat}" must be text or json`);
  }
  const logLevel = values['log-level'] ?? (env[ENV.logLevel] || 'info');
  if (!isLogLevel(logLevel)) throw new L4meshError('L4MESH_ERR_CONFIG', `--log-level: "${logLevel}" must be one of error, warn, info, debug, trace`);
  const captureRange = values['capture-range'] ?? defaultCaptureRange(node);
  if (!captureRange) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `--capture-range CIDR is required for node "${node}" (only node-1..node-63 have a default inside ${DEFAULT_CAPTURE_RANGE})`);
  }
  const reporting = values['tcp-reporting-duration'] ?? env[ENV.tcpReportingDuration];
  return {
    node,
    address,
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
    proxyName: `ztunnel-${node}`,
    proxyNamespace: 'istio-system',
  };
}
