// The HTTP endpoints every proxy role serves on its own address: metrics, readiness
// and admin (config_dump, logging, quitquitquit, plus role-specific read-only views).
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import { PROXY_ADMIN_PORT, PROXY_METRICS_PORT, PROXY_READINESS_PORT } from '../../config/mesh-constants.js';
import { adminHandler, closeServer, listen, readinessHandler } from '../admin/server.js';
import { writeProxyAdminToken } from '../admin/admin-token.js';
import { checkFdLimits, fdPressure } from '../admin/fd-pressure.js';
import { startMetricsServer, type MetricsServer } from '../telemetry/metrics-server.js';
import { isLogLevel, type Logger } from '../../logging/logger.js';
import type { TraceStore } from '../trace/trace-store.js';

export interface ProxyEndpointsOptions {
  address: string;
  /** Where the admin token for the mutating endpoints is written (`<stateDir>/admin-tokens/<address>.token`). */
  stateDir: string;
  registry: Registry;
  ready: () => boolean;
  configDump: () => unknown;
  views?: Record<string, () => unknown>;
  /** Served as /debug/trace. */
  traces?: TraceStore;
  log: Logger;
  quit: () => void;
}

export interface ProxyEndpoints {
  close(): Promise<void>;
}

export async function startProxyEndpoints(options: ProxyEndpointsOptions): Promise<ProxyEndpoints> {
  const { address, log } = options;
  checkFdLimits(log);
  fdPressure.start(log);
  fdPressure.register(options.registry);
  const metrics: MetricsServer = await startMetricsServer({ host: address, port: PROXY_METRICS_PORT, registry: options.registry });
  const readiness: Server = await listen(readinessHandler(options.ready), address, PROXY_READINESS_PORT, 'readiness');
  const adminToken = await writeProxyAdminToken(options.stateDir, address);
  const admin: Server = await listen(
    adminHandler({
      configDump: options.configDump,
      views: options.views,
      getLogLevel: () => log.getLevel(),
      setLogLevel: (level) => {
        if (!isLogLevel(level)) return `unknown level "${level}": use error, warn, info, debug or trace`;
        log.setLevel(level);
        return undefined;
      },
      quit: options.quit,
      adminToken,
      ...(options.traces ? { traces: options.traces } : {}),
    }),
    address,
    PROXY_ADMIN_PORT,
    'admin',
  );
  fdPressure.watch(metrics.server, 'metrics', 'control');
  fdPressure.watch(readiness, 'readiness', 'control');
  fdPressure.watch(admin, 'admin', 'control');
  return {
    close: async () => {
      await Promise.all([metrics.close(), closeServer(admin), closeServer(readiness)]);
    },
  };
}
