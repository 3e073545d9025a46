// The telemetry stack of a proxy role: istio_tcp_* metrics through a connection tracker, Telemetry API
// policies, the access log, and the ConnectionReporter that the inbound and outbound paths report to.
import { Registry as PromRegistry } from 'prom-client';
import type { MeshService, MeshWorkload } from '../../api/mesh.js';
import { accessLogFile } from '../../config/state-layout.js';
import { TcpMetrics } from './metrics.js';
import { ConnectionTracker } from './connection-tracker.js';
import { AccessLogger } from './access-log.js';
import { registerProcessMetrics } from './process-metrics.js';
import type { Logger } from '../../logging/logger.js';
import { ConnectionReporter } from '../connections/reporter.js';
import { TelemetryConfig } from './telemetry-config.js';

export interface ProxyTelemetry {
  registry: PromRegistry;
  tracker: ConnectionTracker;
  telemetry: TelemetryConfig;
  accessLog: AccessLogger;
  /** The access log's file, which a role's own request log may share (the waypoint's does). */
  accessLogFile: string;
  reporter: ConnectionReporter;
}

export interface ProxyTelemetryOptions {
  /** Names the access-log file: `<stateDir>/logs/<proxyName>.access.log`. */
  proxyName: string;
  stateDir: string;
  logFormat: 'text' | 'json';
  tcpReportingDurationMs: number;
  metricsExpiryGraceMs: number;
  /** The workloads whose traffic this proxy carries (their Telemetry resources apply here). */
  localWorkloads: () => readonly MeshWorkload[];
  allWorkloads: () => readonly MeshWorkload[];
  serviceByKey: (key: string) => MeshService | undefined;
  log: Logger;
}

export function createProxyTelemetry(options: ProxyTelemetryOptions): ProxyTelemetry {
  const registry = new PromRegistry();
  registerProcessMetrics(registry);
  const tcpMetrics = new TcpMetrics(registry);
  const tracker = new ConnectionTracker(tcpMetrics, { reportingIntervalMs: options.tcpReportingDurationMs });
  const telemetry = new TelemetryConfig({
    tracker,
    metrics: tcpMetrics,
    localWorkloads: options.localWorkloads,
    allWorkloads: options.allWorkloads,
    serviceByKey: options.serviceByKey,
    defaultIntervalMs: options.tcpReportingDurationMs,
    expiryGraceMs: options.metricsExpiryGraceMs,
    log: options.log.child('telemetry'),
  });
  const accessLogPath = accessLogFile(options.stateDir, options.proxyName);
  const accessLog = new AccessLogger({ format: options.logFormat, stdout: true, file: accessLogPath });
  return { registry, tracker, telemetry, accessLog, accessLogFile: accessLogPath, reporter: new ConnectionReporter(tracker, accessLog, telemetry) };
}
