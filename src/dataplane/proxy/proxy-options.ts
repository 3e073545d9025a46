// Flags every proxy role (node proxy, sidecar, waypoint) shares, with their environment variables and
// defaults; each role's config module adds its own on top.
import { L4meshError } from '../../errors/index.js';
import { CONTROL_PLANE_GRPC_PORT, DEFAULT_CLUSTER_ID, DEFAULT_CONTROL_PLANE_ADDRESS } from '../../config/mesh-constants.js';
import { DEFAULT_STATE_DIR_TEXT, defaultStateDir, ENV_STATE_DIR } from '../../config/paths.js';
import { nodeTokenFile, rootCertFile, STATE_DIR_PLACEHOLDER } from '../../config/state-layout.js';
import { isLogLevel, type LogLevel } from '../../logging/logger.js';
import { DEFAULT_TCP_REPORTING_DURATION_MS } from '../telemetry/connection-tracker.js';
import { DEFAULT_SERIES_EXPIRY_GRACE_MS } from '../telemetry/metrics.js';
import { DEFAULT_HBONE_IDLE_TIMEOUT_MS } from '../hbone/client-pool.js';
import { formatDuration, parseDuration } from '../../api/derive.js';
import { DEFAULT_HBONE_TRANSPORT, parseHboneTransport, type HboneTransport } from '../hbone/transport.js';

/** Where the control plane listens by default (`l4mesh up` starts it there). */
export const DEFAULT_CONTROL_PLANE = `${DEFAULT_CONTROL_PLANE_ADDRESS}:${CONTROL_PLANE_GRPC_PORT}`;
/** The per-user state dir of src/config/paths.ts, so a hand-started proxy finds what `l4mesh up` made. */
export const DEFAULT_STATE_DIR = DEFAULT_STATE_DIR_TEXT;
/**
 * How long SIGTERM lets open connections finish before cutting them: short enough that `down` (SIGKILL
 * after 8 s) never has to kill a draining proxy, long enough for request/response exchanges to end.
 */
export const DEFAULT_DRAIN_MS = 5_000;
/** Access-log format unless `--log-format` says otherwise: ztunnel's text lines (docs/design.md, "Access log"). */
export const DEFAULT_LOG_FORMAT = 'text';
/** Log level unless `--log-level` or RUST_LOG says otherwise. */
export const DEFAULT_LOG_LEVEL = 'info';

/** ztunnel's variable names where it has one (CA_ADDRESS, RUST_LOG), so its habits carry over. */
export const PROXY_ENV = {
  stateDir: ENV_STATE_DIR,
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
  // Several replicas: HOST:PORT,HOST:PORT — a broken xDS stream or CA call moves to the next.
  for (const one of controlPlane.split(',')) {
    if (!/^[^\s,]+:\d+$/.test(one)) {
      throw new L4meshError('L4MESH_ERR_CONFIG', `--control-plane: "${one}" is not HOST:PORT (e.g. ${DEFAULT_CONTROL_PLANE}; several replicas: HOST:PORT,HOST:PORT)`);
    }
  }
  const logFormat = values['log-format'] ?? DEFAULT_LOG_FORMAT;
  if (logFormat !== 'text' && logFormat !== 'json') throw new L4meshError('L4MESH_ERR_CONFIG', `--log-format: "${logFormat}" must be text or json`);
  const logLevel = values['log-level'] ?? (env[PROXY_ENV.logLevel] || DEFAULT_LOG_LEVEL);
  if (!isLogLevel(logLevel)) throw new L4meshError('L4MESH_ERR_CONFIG', `--log-level: "${logLevel}" must be one of error, warn, info, debug, trace`);
  const reporting = values['tcp-reporting-duration'] ?? env[PROXY_ENV.tcpReportingDuration];
  const poolIdle = values['pool-idle-timeout'] ?? (env[PROXY_ENV.poolIdleTimeout] || undefined);
  const poolIdleTimeoutMs = poolIdle !== undefined ? parseDuration(poolIdle) : undefined;
  if (poolIdleTimeoutMs === 0) throw new L4meshError('L4MESH_ERR_CONFIG', `--pool-idle-timeout: "${poolIdle}" must be more than 0 (e.g. 5m)`);
  return {
    controlPlane,
    tokenFile: values['token-file'] ?? nodeTokenFile(stateDir, node),
    rootCertFile: values['root-cert'] ?? rootCertFile(stateDir),
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

/** How help texts show the default token and root-certificate files. */
export const NODE_TOKEN_FILE_TEXT = nodeTokenFile(STATE_DIR_PLACEHOLDER, '<node>');
export const ROOT_CERT_FILE_TEXT = rootCertFile(STATE_DIR_PLACEHOLDER);

/** The `--help` lines of PROXY_OPTIONS, shared by every proxy command. */
export const PROXY_OPTIONS_HELP = `  --control-plane HOST:PORT[,HOST:PORT...]  xDS + CA; several replicas are tried in turn (env ${PROXY_ENV.controlPlane}, default ${DEFAULT_CONTROL_PLANE})
  --token-file FILE           node token (default ${NODE_TOKEN_FILE_TEXT})
  --root-cert FILE            mesh root (default ${ROOT_CERT_FILE_TEXT})
  --state-dir DIR             logs, capture allocations (env ${PROXY_ENV.stateDir}, default ${DEFAULT_STATE_DIR})
  --log-format text|json      access log format (default ${DEFAULT_LOG_FORMAT})
  --log-level LEVEL           error, warn, info, debug, trace (env ${PROXY_ENV.logLevel}, default ${DEFAULT_LOG_LEVEL})
  --tcp-reporting-duration D  how often open connections report bytes (env ${PROXY_ENV.tcpReportingDuration}, default ${formatDuration(DEFAULT_TCP_REPORTING_DURATION_MS)})
  --metrics-expiry-grace D    how long idle series of a workload that left the mesh stay (default ${formatDuration(DEFAULT_SERIES_EXPIRY_GRACE_MS)})
  --drain-duration D          how long SIGTERM lets open connections finish before cutting them
                              (env ${PROXY_ENV.drainDuration}, default ${formatDuration(DEFAULT_DRAIN_MS)})
  --cluster-id ID             cluster id in the *_cluster metric labels (default ${DEFAULT_CLUSTER_ID})
  --pool-idle-timeout D       how long an unused HBONE connection stays pooled (env ${PROXY_ENV.poolIdleTimeout}, default ${formatDuration(DEFAULT_HBONE_IDLE_TIMEOUT_MS)})
  --hbone-transport l4mesh|node  HTTP/2 of HBONE: l4mesh's own framing or node:http2
                              (env ${PROXY_ENV.hboneTransport}, default ${DEFAULT_HBONE_TRANSPORT})
`;
