// Where the console's counters come from (its own scrapes of the proxies, or Prometheus), and the one way
// both are turned into the graph and an edge's or a node's series, so the two sources draw the same picture.
import { buildGraph, onlyLive, zeroTraffic, type CounterWindow, type EdgeTraffic, type Graph } from './graph.js';

/** Every counter's increase over one window, with the window's real bounds (ms since the epoch). */
export interface CounterSpan {
  from: number;
  to: number;
  seconds: number;
  series: CounterWindow[];
}

export interface TrafficSource {
  /** `proxies` (the console's own scrapes of the proxies' metrics port) or `prometheus`. */
  readonly kind: 'proxies' | 'prometheus';
  /** The counters over the last `seconds`; undefined while there is not enough history. */
  span(seconds: number): Promise<CounterSpan | undefined>;
  /** Consecutive short spans covering the last `seconds`, oldest first: what an edge's chart draws. */
  steps(seconds: number): Promise<CounterSpan[]>;
}

export interface SeriesPoint extends EdgeTraffic {
  /** Seconds since the epoch at the end of the step. */
  t: number;
}

export type WindowGraph = Graph & { from: number; to: number };

/** The graph over the last `seconds`, without workloads the control plane no longer has (when `live` is known). */
export async function graphFrom(source: TrafficSource, seconds: number, live: ReadonlySet<string> | undefined): Promise<WindowGraph> {
  const s = await source.span(seconds);
  if (!s) return { seconds: 0, nodes: [], edges: [], from: 0, to: 0 };
  const g = buildGraph(s.series, s.seconds);
  return { ...(live ? onlyLive(g, live) : g), from: s.from, to: s.to };
}

/** One edge's traffic per step over the last `seconds` (zero where it did not exist), as one reporter saw it if given. */
export async function edgeSeriesFrom(source: TrafficSource, edgeId: string, seconds: number, reporter?: string): Promise<SeriesPoint[]> {
  return (await source.steps(seconds)).map((s) => {
    const series = reporter === undefined ? s.series : s.series.filter((c) => c.labels['reporter'] === reporter);
    const e = buildGraph(series, s.seconds).edges.find((x) => x.id === edgeId);
    const traffic = zeroTraffic();
    if (e) for (const k of Object.keys(traffic) as Array<keyof EdgeTraffic>) traffic[k] = e[k];
    return { t: s.to / 1000, ...traffic };
  });
}

/** A node's traffic per step: what the edges into it and out of it carried. */
export interface NodePoint {
  t: number;
  /** Client→server bytes/s on the edges into the node (it serves them). */
  inBytesPerSec: number;
  /** Client→server bytes/s on the edges out of the node (it is their client). */
  outBytesPerSec: number;
  inConnectionsOpenedPerSec: number;
  outConnectionsOpenedPerSec: number;
}

/** One node's traffic per step over the last `seconds`: the sums over its edges in each direction. */
export async function nodeSeriesFrom(source: TrafficSource, nodeId: string, seconds: number): Promise<NodePoint[]> {
  return (await source.steps(seconds)).map((s) => {
    const edges = buildGraph(s.series, s.seconds).edges;
    const sum = (side: 'source' | 'target', k: keyof EdgeTraffic) => edges.filter((e) => e[side] === nodeId).reduce((n, e) => n + e[k], 0);
    return {
      t: s.to / 1000,
      inBytesPerSec: sum('target', 'bytesSentPerSec'),
      outBytesPerSec: sum('source', 'bytesSentPerSec'),
      inConnectionsOpenedPerSec: sum('target', 'connectionsOpenedPerSec'),
      outConnectionsOpenedPerSec: sum('source', 'connectionsOpenedPerSec'),
    };
  });
}
