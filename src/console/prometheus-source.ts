// The console's counters from Prometheus when one runs (--prometheus, or the one `l4mesh dashboard prometheus`
// recorded in the state dir): rate() over the window through /api/v1/query, charts through /api/v1/query_range.
import { L4meshError } from '../errors/index.js';
import { PROMETHEUS } from '../localrun/components.js';
import { isAlive, readProcessTable } from '../localrun/processes.js';
import { GRAPH_METRICS, TCP_CLOSED, TCP_OPENED, type CounterWindow } from './graph.js';
import type { CounterSpan, TrafficSource } from './traffic-source.js';

/** A query on a local Prometheus answers in milliseconds; a stuck one must not hold the page's refresh. */
const QUERY_TIMEOUT_MS = 4_000;
/** `l4mesh dashboard prometheus` scrapes every 5 s: a chart step finer than that has nothing new to show. */
export const MIN_STEP_SECONDS = 5;
/** A chart has at most this many points; longer windows take longer steps. */
const MAX_CHART_POINTS = 120;
/** rate() needs two samples in its range; four scrape intervals is Prometheus' own advice. */
export const MIN_RATE_RANGE_SECONDS = 4 * MIN_STEP_SECONDS;
/** Counters whose value at the window's end the graph reads (active connections = opened − closed). */
const LAST_VALUE_METRICS = [TCP_OPENED, TCP_CLOSED];

interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}

/** The URL of the Prometheus `l4mesh dashboard prometheus` started for this state dir, while it runs. */
export function recordedPrometheus(stateDir: string): string | undefined {
  const rec = readProcessTable(stateDir)[PROMETHEUS];
  return rec?.address && isAlive(rec) ? `http://${rec.address}` : undefined;
}

function seriesKey(name: string, metric: Record<string, string>): string {
  return `${name}|${Object.entries(metric)
    .filter(([k]) => k !== '__name__')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}`;
}

function labelsOf(metric: Record<string, string>): Record<string, string> {
  const { __name__: _name, ...rest } = metric;
  return rest;
}

/** PromQL durations take integer units; milliseconds keep any window the API accepts exact. */
function duration(seconds: number): string {
  return `${Math.round(seconds * 1000)}ms`;
}

export class PrometheusSource implements TrafficSource {
  readonly kind = 'prometheus';

  constructor(
    readonly url: string,
    private readonly now: () => number = Date.now,
  ) {}

  private async api(path: string, params: Record<string, string>): Promise<PromSeries[]> {
    const u = `${this.url.replace(/\/$/, '')}${path}?${new URLSearchParams(params)}`;
    let body: { status?: string; error?: string; data?: { result?: PromSeries[] } };
    try {
      const res = await fetch(u, { signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) });
      body = (await res.json()) as typeof body;
    } catch (err) {
      throw new L4meshError('L4MESH_ERR_PROMETHEUS', `Prometheus at ${this.url} did not answer ${path} (${(err as Error).message}); is it running? (l4mesh dashboard prometheus, or check --prometheus)`, { cause: err });
    }
    if (body.status !== 'success' || !Array.isArray(body.data?.result)) {
      throw new L4meshError('L4MESH_ERR_PROMETHEUS', `Prometheus at ${this.url} refused ${params['query']}: ${body.error ?? 'no result'}`);
    }
    return body.data!.result!;
  }

  /** Every graph metric's per-second rate (and the opened/closed counters' values) at one instant. */
  async span(seconds: number): Promise<CounterSpan> {
    const to = this.now();
    const time = String(to / 1000);
    const [rates, lasts] = await Promise.all([
      Promise.all(GRAPH_METRICS.map((m) => this.api('/api/v1/query', { query: `rate(${m}[${duration(seconds)}])`, time }))),
      Promise.all(LAST_VALUE_METRICS.map((m) => this.api('/api/v1/query', { query: m, time }))),
    ]);
    const last = new Map<string, number>();
    LAST_VALUE_METRICS.forEach((m, i) => {
      for (const s of lasts[i]!) last.set(seriesKey(m, s.metric), Number(s.value?.[1]));
    });
    const series: CounterWindow[] = [];
    GRAPH_METRICS.forEach((m, i) => {
      for (const s of rates[i]!) {
        const rate = Number(s.value?.[1]);
        if (!Number.isFinite(rate)) continue;
        series.push({ name: m, labels: labelsOf(s.metric), increase: rate * seconds, last: last.get(seriesKey(m, s.metric)) ?? 0 });
      }
    });
    return { from: to - seconds * 1000, to, seconds, series };
  }

  /** One span per query_range step: the rate over the last MIN_RATE_RANGE_SECONDS (or the step) at each. */
  async steps(seconds: number): Promise<CounterSpan[]> {
    const step = Math.max(MIN_STEP_SECONDS, Math.ceil(seconds / MAX_CHART_POINTS));
    const range = duration(Math.max(MIN_RATE_RANGE_SECONDS, step));
    const end = Math.floor(this.now() / 1000);
    const params = (query: string) => ({ query, start: String(end - seconds), end: String(end), step: String(step) });
    const [rates, lasts] = await Promise.all([
      Promise.all(GRAPH_METRICS.map((m) => this.api('/api/v1/query_range', params(`rate(${m}[${range}])`)))),
      Promise.all(LAST_VALUE_METRICS.map((m) => this.api('/api/v1/query_range', params(m)))),
    ]);
    const byTime = new Map<number, CounterWindow[]>();
    const last = new Map<string, number>();
    LAST_VALUE_METRICS.forEach((m, i) => {
      for (const s of lasts[i]!) for (const [t, v] of s.values ?? []) last.set(`${t}|${seriesKey(m, s.metric)}`, Number(v));
    });
    GRAPH_METRICS.forEach((m, i) => {
      for (const s of rates[i]!) {
        for (const [t, v] of s.values ?? []) {
          if (!byTime.has(t)) byTime.set(t, []);
          byTime.get(t)!.push({ name: m, labels: labelsOf(s.metric), increase: Number(v) * step, last: last.get(`${t}|${seriesKey(m, s.metric)}`) ?? 0 });
        }
      }
    });
    return [...byTime.entries()].sort(([a], [b]) => a - b).map(([t, series]) => ({ from: (t - step) * 1000, to: t * 1000, seconds: step, series }));
  }
}
