// The istio_tcp_* counter families: series keyed by their exact label list, registered in a prom-client
// Registry, bound once per connection so flushing never looks a series up, and expired when peers leave.
import { Counter, type Registry } from 'prom-client';
import { TCP_METRIC_KEYS, TCP_METRICS, UNKNOWN, type TcpLabelValues, type TcpMetricKey } from './labels.js';
import { EMPTY_METRICS_POLICY, applyPolicy, type MetricsPolicy } from './telemetry-policy.js';

/** Help texts as Istio's proxies print them. */
export const TCP_METRIC_HELP: Readonly<Record<TcpMetricKey, string>> = {
  opened: 'The total number of TCP connections opened',
  closed: 'The total number of TCP connections closed',
  sent: 'The size of total bytes sent during response in case of a TCP connection',
  received: 'The size of total bytes received during request in case of a TCP connection',
  failed: 'The total number of TCP connections that failed before any byte was forwarded',
};

/**
 * How long an idle series of a workload that left the mesh stays visible: long enough for Prometheus
 * (typical scrape interval 15–60 s) to scrape its final values several times before it disappears.
 */
export const DEFAULT_SERIES_EXPIRY_GRACE_MS = 5 * 60_000;

/** The workloads a series is about, from its labels before any Telemetry override removed them. */
interface SeriesPeers {
  sourceWorkload: string;
  sourceNamespace: string;
  destinationWorkload: string;
  destinationNamespace: string;
}

/** One time series: its labels in exposition order and its running total. */
export class TcpSeries {
  value = 0;
  /** Connections whose binding holds this series; a held series never expires. */
  refs = 0;
  constructor(
    /** The family's map key: bindings with the same labels share this string instead of holding their own. */
    readonly key: string,
    readonly labels: Readonly<Record<string, string>>,
    readonly peers: SeriesPeers,
    public lastUpdatedMs: number,
  ) {}
}

/**
 * A counter family whose series carry their own label lists. prom-client's Counter fixes one labelNames
 * list per metric and prints labels in the key order of the first object it was given; Telemetry REMOVE
 * and UPSERT need different label lists per series, so this family keeps its own series and hands them
 * to the registry's exposition, labels in insertion order.
 */
class SeriesCounter extends Counter<string> {
  // Assigned after super() returns; reset() below may run from inside the base constructor.
  series = new Map<string, TcpSeries>();

  constructor(name: string, help: string, registry: Registry) {
    super({ name, help, labelNames: [], registers: [registry], aggregator: 'sum' });
  }

  override async get() {
    const base = await super.get();
    const values = [];
    for (const s of this.series.values()) values.push({ value: s.value, labels: s.labels });
    return { ...base, values };
  }

  override reset(): void {
    super.reset();
    this.series?.clear();
  }
}

function seriesKey(labels: Record<string, string>): string {
  let key = '';
  for (const name in labels) key += name + '\u0001' + labels[name] + '\u0000';
  return key;
}

/**
 * The series of one connection (or one failure), resolved lazily per metric and cached, so that each flush
 * is a plain addition. Metrics the policy disables are skipped.
 */
export class TcpSeriesBinding {
  private readonly cache: Array<TcpSeries | undefined> = [];
  private released = false;
  private ownKey: string | undefined;

  constructor(
    private readonly owner: TcpMetrics,
    readonly labels: TcpLabelValues,
    readonly policy: MetricsPolicy,
  ) {}

  isEnabled(metric: TcpMetricKey): boolean {
    return !this.policy.disabled.has(TCP_METRICS[metric]);
  }

  add(metric: TcpMetricKey, amount: number): void {
    // Byte series appear with the first byte, not as zero lines for connections that never carry data.
    if (amount === 0 && (metric === 'sent' || metric === 'received')) return;
    const i = TCP_METRIC_KEYS.indexOf(metric);
    let s = this.cache[i];
    if (!s) {
      if (!this.isEnabled(metric)) return;
      s = this.owner.retain(metric, this);
      // Added to after release: count it, but do not hold the series against expiry.
      if (this.released) s.refs--;
      this.cache[i] = s;
    }
    s.value += amount;
    s.lastUpdatedMs = this.owner.now();
  }

  /** The series key of `labels` as they are, built at most once: every metric the policy leaves alone shares it. */
  labelsKey(): string {
    return (this.ownKey ??= seriesKey(this.labels));
  }

  /**
   * `key` equals labelsKey() and belongs to a series: keep that string instead of this binding's copy. A
   * key is ~600 characters and an idle connection holds its binding for its whole life.
   */
  shareKey(key: string): void {
    this.ownKey = key;
  }

  /** Lets the series expire once idle; call once, when the connection is done. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const s of this.cache) if (s) s.refs--;
    this.cache.length = 0;
  }
}

export interface ExpiryOptions {
  /** Whether the workload `name` in `namespace` is still in the mesh. */
  isKnown(workloadName: string, namespace: string): boolean;
  graceMs?: number;
}

export class TcpMetrics {
  private readonly families: Record<TcpMetricKey, SeriesCounter>;
  readonly now: () => number;

  constructor(registry: Registry, options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
    const family = (k: TcpMetricKey) => new SeriesCounter(TCP_METRICS[k], TCP_METRIC_HELP[k], registry);
    this.families = { opened: family('opened'), closed: family('closed'), sent: family('sent'), received: family('received'), failed: family('failed') };
  }

  /** Series handles for one connection (freezes `labels`); nothing is created until a metric is first added to. */
  bind(labels: TcpLabelValues, policy: MetricsPolicy = EMPTY_METRICS_POLICY): TcpSeriesBinding {
    // The closed series, resolved at close, must carry the labels the connection opened with, so they are
    // frozen here — the caller's object itself: a copy (spread) cost ~1 KiB per open connection and proxy
    // in a heap snapshot, because V8 gave every spread copy of this 23-key object its own hidden class.
    return new TcpSeriesBinding(this, Object.freeze(labels), policy);
  }

  /** Finds or creates the series of `metric` for the binding's (frozen) labels after its policy, and holds it. */
  retain(metric: TcpMetricKey, binding: TcpSeriesBinding): TcpSeries {
    const labels = binding.labels;
    const seriesLabels = applyPolicy(labels, TCP_METRICS[metric], binding.policy);
    // A key is ~600 characters for Istio's label set; building and hashing it once per connection, not once
    // per metric, is measurable in the connection-rate profile.
    const key = seriesLabels === labels ? binding.labelsKey() : seriesKey(seriesLabels);
    const family = this.families[metric].series;
    let s = family.get(key);
    if (!s) {
      const peers = {
        sourceWorkload: labels.source_workload,
        sourceNamespace: labels.source_workload_namespace,
        destinationWorkload: labels.destination_workload,
        destinationNamespace: labels.destination_workload_namespace,
      };
      s = new TcpSeries(key, seriesLabels, peers, this.now());
      family.set(key, s);
    } else if (seriesLabels === labels) {
      binding.shareKey(s.key);
    }
    s.refs++;
    return s;
  }

  /**
   * Drops series that no connection holds, that have not changed for `graceMs`, and whose source or
   * destination workload has left the mesh (`unknown` peers never "leave"). Returns how many were dropped.
   */
  expire(options: ExpiryOptions): number {
    const grace = options.graceMs ?? DEFAULT_SERIES_EXPIRY_GRACE_MS;
    const now = this.now();
    const gone = (name: string, ns: string) => name !== UNKNOWN && !options.isKnown(name, ns);
    let dropped = 0;
    for (const k of TCP_METRIC_KEYS) {
      const series = this.families[k].series;
      for (const [key, s] of series) {
        if (s.refs > 0 || now - s.lastUpdatedMs < grace) continue;
        const p = s.peers;
        if (gone(p.sourceWorkload, p.sourceNamespace) || gone(p.destinationWorkload, p.destinationNamespace)) {
          series.delete(key);
          dropped++;
        }
      }
    }
    return dropped;
  }

  /** Number of series of one metric (for tests and the admin page). */
  seriesCount(metric: TcpMetricKey): number {
    return this.families[metric].series.size;
  }
}
