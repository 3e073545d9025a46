// The node proxy's live telemetry configuration: Telemetry API policies from xDS resolved per local
// workload (cached until the next xDS update), the tracker's reporting interval, and series expiry.
import type { MeshService, MeshSnapshot, MeshTelemetry, MeshWorkload } from '../../api/mesh.js';
import type { Resource } from '../../api/types.js';
import type { ConnectionTracker } from './connection-tracker.js';
import type { TcpMetrics } from './metrics.js';
import { UNKNOWN, type TcpLabelValues } from './labels.js';
import { EMPTY_METRICS_POLICY, resolveMetricsPolicy, type MetricsPolicy, type WorkloadMode } from './telemetry-policy.js';
import type { Logger } from '../../logging/logger.js';
import type { ConnectionPeers } from '../connections/reporter.js';
import { guessInboundService, portOfAuthority } from './inbound-service.js';

/**
 * How often idle series are checked for expiry besides every xDS update: a fraction of the default
 * 5 min grace, so a series disappears at most this long after its grace ran out.
 */
export const DEFAULT_EXPIRY_CHECK_MS = 30_000;

export interface TelemetryConfigOptions {
  tracker: ConnectionTracker;
  metrics: TcpMetrics;
  /** The proxy's own workloads (whose Telemetry applies on this proxy). */
  localWorkloads: () => readonly MeshWorkload[];
  /** Every workload the proxy knows: a series whose peers are all still here never expires. */
  allWorkloads: () => readonly MeshWorkload[];
  /** Service lookup by `namespace/hostname`, for the destination reporter's destination_service. */
  serviceByKey?: (key: string) => MeshService | undefined;
  /** `--tcp-reporting-duration` / TCP_REPORTING_DURATION or the built-in default. */
  defaultIntervalMs: number;
  expiryGraceMs: number;
  expiryCheckMs?: number;
  log: Logger;
}

/** What the ConnectionReporter asks of the proxy's telemetry configuration. */
export interface ConnectionTelemetry {
  policyFor(peers: Pick<ConnectionPeers, 'reporter' | 'source' | 'destination'>): MetricsPolicy;
  connectionOpened(labels: TcpLabelValues): void;
  connectionClosed(labels: TcpLabelValues): void;
  /** The service an inbound connection to `destination` at `authority` (ip:port) was for. */
  inboundService?(destination: MeshWorkload, authority: string): MeshService | undefined;
}

/**
 * A MeshTelemetry in the Resource shape the Telemetry API resolver reads. Selectors match the labels a
 * MeshWorkload carries (app, version, canonical name/revision), not every pod label.
 */
function asResource(t: MeshTelemetry): Resource {
  const selector = Object.keys(t.selector).length > 0 ? { selector: { matchLabels: t.selector } } : {};
  return {
    apiVersion: 'telemetry.istio.io/v1',
    kind: 'Telemetry',
    metadata: { name: t.name, namespace: t.namespace, ...(t.creationTimestamp ? { creationTimestamp: t.creationTimestamp } : {}) },
    spec: { ...selector, metrics: t.metrics.map((m) => ({ ...m, providers: m.providers.map((name) => ({ name })) })) },
  };
}

function peerKeys(labels: TcpLabelValues): string[] {
  const out: string[] = [];
  if (labels.source_workload !== UNKNOWN) out.push(`${labels.source_workload_namespace}/${labels.source_workload}`);
  if (labels.destination_workload !== UNKNOWN) out.push(`${labels.destination_workload_namespace}/${labels.destination_workload}`);
  return out;
}

/** No local workload (unknown source, say): only the mesh-wide Telemetry in the root namespace applies. */
const NO_WORKLOAD = { namespace: '', labels: {} } as const;

/**
 * Policies apply per connection at open: a Telemetry change affects connections opened after it, while
 * open connections keep the labels they were opened with (opened and closed series must match).
 *
 * The tracker has one flush timer, so one interval serves the whole proxy: the smallest interval that
 * applies to any local workload (Telemetry `reportingInterval`, else the proxy default), or, with no
 * local workloads, the mesh-wide one. Flushing a workload's counters more often than its Telemetry asks
 * only makes them fresher; flushing less often would break what the Telemetry promised.
 * A Telemetry interval overrides the proxy flag/env default, as Istio's does for `tcpReportingDuration`.
 */
export class TelemetryConfig implements ConnectionTelemetry {
  private telemetries: Resource[] = [];
  /**
   * `namespace/workload` of both ends of every open connection, with counts: such a workload's series
   * all stay (not just the ones the open connection holds), so its counters never reset mid-connection.
   */
  private readonly openPeers = new Map<string, number>();
  private readonly cache = new Map<string, MetricsPolicy>();
  private readonly invalid = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TelemetryConfigOptions) {
    // A grace shorter than the check period (tests, tiny meshes) is checked as often as the grace.
    const every = options.expiryCheckMs ?? Math.max(1, Math.min(DEFAULT_EXPIRY_CHECK_MS, options.expiryGraceMs));
    this.timer = setInterval(() => this.expire(), every);
    this.timer.unref();
  }

  /** Called after every xDS update: drops cached policies, re-derives the interval, expires series. */
  update(snapshot: MeshSnapshot): void {
    this.telemetries = [...(snapshot.telemetries?.values() ?? [])].map(asResource);
    this.cache.clear();
    this.applyInterval();
    this.expire();
  }

  /** The policy of the local workload of one connection: the source's (CLIENT) or destination's (SERVER). */
  policyFor(peers: Pick<ConnectionPeers, 'reporter' | 'source' | 'destination'>): MetricsPolicy {
    if (peers.reporter === 'source') return this.policyOf(peers.source, 'CLIENT');
    if (peers.reporter === 'destination') return this.policyOf(peers.destination, 'SERVER');
    return EMPTY_METRICS_POLICY;
  }

  policyOf(workload: MeshWorkload | undefined, mode: WorkloadMode): MetricsPolicy {
    if (this.telemetries.length === 0) return EMPTY_METRICS_POLICY;
    const key = `${workload?.uid ?? ''}\u0000${mode}`;
    let policy = this.cache.get(key);
    if (!policy) {
      policy = this.resolve(workload ?? NO_WORKLOAD, mode);
      this.cache.set(key, policy);
    }
    return policy;
  }

  /** The interval the tracker should flush at now (see the class comment). */
  effectiveIntervalMs(): number {
    const { defaultIntervalMs } = this.options;
    const local = this.options.localWorkloads();
    if (local.length === 0) return this.policyOf(undefined, 'CLIENT').reportingIntervalMs ?? defaultIntervalMs;
    let min = Infinity;
    for (const w of local) {
      for (const mode of ['CLIENT', 'SERVER'] as const) min = Math.min(min, this.policyOf(w, mode).reportingIntervalMs ?? defaultIntervalMs);
    }
    return min;
  }

  inboundService(destination: MeshWorkload, authority: string): MeshService | undefined {
    const port = portOfAuthority(authority);
    const lookup = this.options.serviceByKey;
    return port === undefined || !lookup ? undefined : guessInboundService(destination, port, lookup);
  }

  connectionOpened(labels: TcpLabelValues): void {
    for (const key of peerKeys(labels)) this.openPeers.set(key, (this.openPeers.get(key) ?? 0) + 1);
  }

  connectionClosed(labels: TcpLabelValues): void {
    for (const key of peerKeys(labels)) {
      const n = (this.openPeers.get(key) ?? 0) - 1;
      if (n > 0) this.openPeers.set(key, n);
      else this.openPeers.delete(key);
    }
  }

  /** Drops idle series of workloads that left the mesh and have no open connection; returns how many. */
  expire(): number {
    const known = new Set<string>(this.openPeers.keys());
    for (const w of this.options.allWorkloads()) known.add(`${w.namespace}/${w.workloadName}`);
    const dropped = this.options.metrics.expire({ isKnown: (name, ns) => known.has(`${ns}/${name}`), graceMs: this.options.expiryGraceMs });
    if (dropped > 0) this.options.log.debug('expired metric series of workloads that left the mesh', { series: dropped });
    return dropped;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private applyInterval(): void {
    const ms = this.effectiveIntervalMs();
    if (ms !== this.options.tracker.reportingIntervalMs) {
      this.options.tracker.setReportingInterval(ms);
      this.options.log.info('TCP reporting interval changed', { intervalMs: ms });
    }
  }

  private resolve(workload: { namespace: string; labels: Record<string, string> }, mode: WorkloadMode): MetricsPolicy {
    let policy: MetricsPolicy;
    try {
      policy = resolveMetricsPolicy(this.telemetries, workload, mode);
    } catch (err) {
      // The control plane validates durations, so this is a newer/odd control plane: report with defaults.
      const message = (err as Error).message;
      if (!this.invalid.has(message)) {
        this.invalid.add(message);
        this.options.log.warn('ignoring a Telemetry this proxy cannot use', { error: message });
      }
      return EMPTY_METRICS_POLICY;
    }
    // A zero or negative interval cannot drive a timer; treat it as not set.
    if (policy.reportingIntervalMs !== undefined && !(policy.reportingIntervalMs > 0)) delete policy.reportingIntervalMs;
    return policy;
  }
}
