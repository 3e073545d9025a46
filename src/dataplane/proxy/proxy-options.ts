// Flags every proxy role (node proxy, sidecar, waypoint) shares, with their environment variables and
// defaults; each role's config module adds its own on top.
import { join } from 'node:path';
import { L4meshError } from '../../errors/index.js';
import { DEFAULT_STATE_DIR_TEXT, defaultStateDir } from '../../config/paths.js';
import { isLogLevel, type LogLevel } from '../../logging/logger.js';
import { DEFAULT_TCP_REPORTING_DURATION_MS } from '../telemetry/connection-tracker.js';
import { DEFAULT_SERIES_EXPIRY_GRACE_MS } from '../telemetry/metrics.js';
import { parseDuration } from '../../api/derive.js';
import { DEFAULT_HBONE_TRANSPORT, parseHboneTransport, type HboneTransport } from '../hbone/transport.js';

/** Where the control plane listens by default (`l4mesh up` starts it there). */
export const DEFAULT_CONTROL_PLANE = '127.0.0.1:15012';
/** The per-user state dir of src/config/paths.ts, so a hand-started proxy finds what `l4mesh up` made. */
export const DEFAULT_STATE_DIR = DEFAULT_STATE_DIR_TEXT;
/**
 * How long SIGTERM lets open connections finish before cutting them: short enough that `down` (SIGKILL
 * after 8 s) never has to kill a draining proxy, long enough for request/response exchanges to end.
 */
export const DEFAULT_DRAIN_MS = 5_000;
/** Istio's default cluster id; it shows up in the *_cluster metric labels. */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';

/** ztunnel's variable names where it has one (CA_ADDRESS, RUST_LOG), so its habits carry over. */
export const PROXY_ENV = {
  stateDir: 'L4MESH_STATE_DIR',
  controlPlane: 'CA_ADDRESS',
  tcpReportingDuration: 'TCP_REPORTING_DURATION',
  logLevel: 'RUST_LOG',
  poolIdleTimeout: 'POOL_UNUSED_RELEASE_TIMEOUT',
  drainDuration: 'L4MESH_DRAIN_DURATION',
  hboneTransport: 'L4MESH_HBONE_TRANSPORT',
} as const;

export const PROXY_OPTIONS = {
  'control-plane': { type: 'string' },
  'token-file': { type: 'string' },
  'root-cert': { type: 'string' },
  'state-dir': { type: 'string' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  'tcp-reporting-duration': { type: 'string' },
  'metrics-expiry-grace': { type: 'string' },
  'drain-duration': { type: 'string' },
  'cluster-id': { type: 'string' },
  'pool-idle-timeout': { type: 'string' },
  'hbone-transport': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface ProxyCommonConfig {
  controlPlane: string;
  tokenFile: string;
  rootCertFile: string;
  stateDir: string;
  logFormat: 'text' | 'json';
  logLevel: LogLevel;
  tcpReportingDurationMs: number;
  /** How long idle series of a workload that left the mesh stay on /metrics (`--metrics-expiry-grace`). */
  metricsExpiryGraceMs: number;
  drainMs: number;
  clusterId: string;
  /** How long an unused pooled HBONE connection is kept (`--pool-idle-timeout`); undefined: the pool's default. */
  poolIdleTimeoutMs?: number;
  /** HTTP/2 implementation of HBONE, outbound and inbound (`--hbone-transport`): ours or node:http2. */
  hboneTransport: HboneTransport;
}

type CommonValues = { [K in keyof typeof PROXY_OPTIONS]?: K extends 'help' ? boolean : string };

/** `--drain-duration` (or its variable) as milliseconds; a bad value fails at start naming the flag. */
function drainMs(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_DRAIN_MS;
  try {
    return parseDuration(value);
  } catch (err) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `--drain-duration (env ${PROXY_ENV.drainDuration}): ${(err as Error).message}`);
  }
}

/** Resolves the shared flags: flag, then environment, then default; `node` names the default token file. */
export function proxyCommonConfig(values: CommonValues, node: string, env: NodeJS.ProcessEnv = process.env): ProxyCommonConfig {
  const stateDir = values['state-dir'] ?? (env[PROXY_ENV.stateDir] || defaultStateDir(env));
  const controlPlane = values['control-plane'] ?? (env[PROXY_ENV.controlPlane] || DEFAULT_CONTROL_PLANE);
  if (!/^[^\s]+:\d+$/.test(controlPlane)) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `--control-plane: "${controlPlane}" is not HOST:PORT (e.g. 127.0.0.1:15012)`);
  }
  const logFormat = values['log-format'] ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new L4meshError('L4MESH_ERR_CONFIG', `--log-format: "${logFormat}" must be text or json`);
  const logLevel = values['log-level'] ?? (env[PROXY_ENV.logLevel] || 'info');
  if (!isLogLevel(logLevel)) throw new L4meshError('L4MESH_ERR_CONFIG', `--log-level: "${logLevel}" must be one of error, warn, info, debug, trace`);
  const reporting = values['tcp-reporting-duration'] ?? env[PROXY_ENV.tcpReportingDuration];
  const poolIdle = values['pool-idle-timeout'] ?? (env[PROXY_ENV.poolIdleTimeout] || undefined);
  const poolIdleTimeoutMs = poolIdle !== undefined ? parseDuration(poolIdle) : undefined;
  if (poolIdleTimeoutMs === 0) throw new L4meshError('L4MESH_ERR_CONFIG', `--pool-idle-timeout: "${poolIdle}" must be more than 0 (e.g. 5m)`);
  return {
    controlPlane,
    tokenFile: values['token-file'] ?? join(stateDir, 'tokens', `${node}.token`),
    rootCertFile: values['root-cert'] ?? join(stateDir, 'ca', 'root-cert.pem'),
    stateDir,
    logFormat,
    logLevel,
    tcpReportingDurationMs: reporting ? parseDuration(reporting) : DEFAULT_TCP_REPORTING_DURATION_MS,
    metricsExpiryGraceMs: values['metrics-expiry-grace'] !== undefined ? parseDuration(values['metrics-expiry-grace']) : DEFAULT_SERIES_EXPIRY_GRACE_MS,
    drainMs: drainMs(values['drain-duration'] ?? env[PROXY_ENV.drainDuration]),
    clusterId: values['cluster-id'] ?? DEFAULT_CLUSTER_ID,
    ...(poolIdleTimeoutMs !== undefined ? { poolIdleTimeoutMs } : {}),
    hboneTransport: parseHboneTransport(
      values['hbone-transport'] ?? env[PROXY_ENV.hboneTransport],
      `--hbone-transport (env ${PROXY_ENV.hboneTransport})`,
    ),
  };
}

/** The `--help` lines of PROXY_OPTIONS, shared by every proxy command. */
export const PROXY_OPTIONS_HELP = `  --control-plane HOST:PORT   xDS + CA (env ${PROXY_ENV.controlPlane}, default ${DEFAULT_CONTROL_PLANE})
  --token-file FILE           node token (default <state-dir>/tokens/<node>.token)
  --root-cert FILE            mesh root (default <state-dir>/ca/root-cert.pem)
  --state-dir DIR             logs, capture allocations (env ${PROXY_ENV.stateDir}, default ${DEFAULT_STATE_DIR})
  --log-format text|json      access log format (default text)
  --log-level LEVEL           error, warn, info, debug, trace (env ${PROXY_ENV.logLevel}, default info)
  --tcp-reporting-duration D  how often open connections report bytes (env ${PROXY_ENV.tcpReportingDuration}, default 15s)
  --metrics-expiry-grace D    how long idle series of a workload that left the mesh stay (default 5m)
  --drain-duration D          how long SIGTERM lets open connections finish before cutting them
                              (env ${PROXY_ENV.drainDuration}, default ${DEFAULT_DRAIN_MS / 1000}s)
  --cluster-id ID             cluster id in the *_cluster metric labels (default ${DEFAULT_CLUSTER_ID})
  --pool-idle-timeout D       how long an unused HBONE connection stays pooled (env ${PROXY_ENV.poolIdleTimeout}, default 5m)
  --hbone-transport l4mesh|node  HTTP/2 of HBONE: l4mesh's own framing or node:http2
                              (env ${PROXY_ENV.hboneTransport}, default ${DEFAULT_HBONE_TRANSPORT})
`;
