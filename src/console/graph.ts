// The console's service graph, computed from istio_tcp_* and istio_requests_total counters over a window:
// workload, service and namespace nodes, and edges with byte, connection and request rates (Kiali's reading).
import type { Sample } from './prometheus-text.js';

export const TCP_OPENED = 'istio_tcp_connections_opened_total';
export const TCP_CLOSED = 'istio_tcp_connections_closed_total';
export const TCP_FAILED = 'istio_tcp_connections_failed_total';
/** Client→server bytes (DESIGN §6): the source→destination direction Kiali draws on a TCP edge. */
export const TCP_RECEIVED = 'istio_tcp_received_bytes_total';
/** Server→client bytes. */
export const TCP_SENT = 'istio_tcp_sent_bytes_total';
export const HTTP_REQUESTS = 'istio_requests_total';
export const GRAPH_METRICS = [TCP_OPENED, TCP_CLOSED, TCP_FAILED, TCP_RECEIVED, TCP_SENT, HTTP_REQUESTS] as const;

/** One counter series over a window: how much it grew and its value at the window's end. */
export interface CounterWindow {
  name: string;
  labels: Record<string, string>;
  increase: number;
  last: number;
}

/** One scrape of every proxy: samples tagged with the target they came from (a series' identity includes it). */
export interface Scrape {
  /** Milliseconds since the epoch when the scrape finished. */
  at: number;
  samples: Array<Sample & { instance: string }>;
}

export interface GraphNode {
  id: string;
  kind: 'namespace' | 'app' | 'workload' | 'service' | 'unknown' | 'proxy';
  label: string;
  namespace?: string;
  app?: string;
  version?: string;
  /** The compound node (namespace or app box) it is drawn in. */
  parent?: string;
}

export interface EdgeTraffic {
  /** Source→destination bytes/s: istio_tcp_received_bytes_total (client→server). */
  bytesSentPerSec: number;
  /** Destination→source bytes/s: istio_tcp_sent_bytes_total (server→client). */
  bytesReceivedPerSec: number;
  connectionsOpenedPerSec: number;
  connectionsClosedPerSec: number;
  connectionsFailedPerSec: number;
  /** Opened minus closed at the window's end. */
  activeConnections: number;
  /** HTTP requests/s reported by a waypoint, 0 when none. */
  requestsPerSec: number;
  /** Share of those requests answered 4xx/5xx, in percent (0 when no requests). */
  errorPercent: number;
}

export interface GraphEdge extends EdgeTraffic {
  id: string;
  source: string;
  target: string;
  /** `carries`: a node proxy to a workload on its node (no traffic of its own; drawn when proxies are shown). */
  protocol: 'tcp' | 'http' | 'carries';
  /** Which reporter's series gave the rates: source when the source proxy reports, else destination. */
  reporter: string;
  /** Every destination-reported series says connection_security_policy="mutual_tls"; with none, every source-reported one names a SPIFFE peer. */
  mtls: boolean;
  /** A response flag other than "-" was seen (DENY, CONNECT, TLS_FAILURE...). */
  flags: string[];
  /** No bytes, connections or requests moved in the window. */
  idle: boolean;
}

export interface Graph {
  seconds: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const UNKNOWN = 'unknown';

/** Nodes and edges are listed by id, so a graph's JSON is stable between refreshes and in tests. */
const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Per-series increase between two scrapes; a series absent before is new (its counter started at 0), a drop is a reset. */
export function windowOf(before: Scrape, after: Scrape): { seconds: number; series: CounterWindow[] } {
  const key = (s: Sample & { instance: string }) => `${s.instance}|${s.name}|${s.labels.map(([k, v]) => `${k}=${v}`).join(',')}`;
  const earlier = new Map(before.samples.map((s) => [key(s), s.value]));
  const series: CounterWindow[] = [];
  for (const s of after.samples) {
    if (!(GRAPH_METRICS as readonly string[]).includes(s.name)) continue;
    const was = earlier.get(key(s)) ?? 0;
    series.push({ name: s.name, labels: Object.fromEntries(s.labels), increase: s.value >= was ? s.value - was : s.value, last: s.value });
  }
  return { seconds: (after.at - before.at) / 1000, series };
}

function workloadId(ns: string, workload: string): string {
  return `wl:${ns}/${workload}`;
}

/** The node ids of a series' two ends, adding the nodes (and their namespace/app boxes) to `nodes`. */
function endpoints(l: Record<string, string>, nodes: Map<string, GraphNode>): { source: string; service?: string; target?: string } {
  const addBoxes = (ns: string, app: string | undefined): string => {
    const nsId = `ns:${ns}`;
    if (!nodes.has(nsId)) nodes.set(nsId, { id: nsId, kind: 'namespace', label: ns, namespace: ns });
    if (!app || app === UNKNOWN) return nsId;
    const appId = `app:${ns}/${app}`;
    if (!nodes.has(appId)) nodes.set(appId, { id: appId, kind: 'app', label: app, namespace: ns, app, parent: nsId });
    return appId;
  };
  const addWorkload = (side: 'source' | 'destination'): string | undefined => {
    const workload = l[`${side}_workload`] ?? UNKNOWN;
    const ns = l[`${side}_workload_namespace`] ?? UNKNOWN;
    if (workload === UNKNOWN || ns === UNKNOWN) return undefined;
    const id = workloadId(ns, workload);
    if (!nodes.has(id)) {
      const app = l[`${side}_app`] ?? l[`${side}_canonical_service`];
      const version = l[`${side}_version`] ?? l[`${side}_canonical_revision`];
      const node: GraphNode = { id, kind: 'workload', label: workload, namespace: ns, parent: addBoxes(ns, app) };
      if (app && app !== UNKNOWN) node.app = app;
      if (version && version !== UNKNOWN) node.version = version;
      nodes.set(id, node);
    }
    return id;
  };
  let source = addWorkload('source');
  if (!source) {
    source = UNKNOWN;
    if (!nodes.has(UNKNOWN)) nodes.set(UNKNOWN, { id: UNKNOWN, kind: 'unknown', label: 'unknown' });
  }
  const svcName = l['destination_service_name'] ?? UNKNOWN;
  const svcNs = l['destination_service_namespace'] ?? UNKNOWN;
  let service: string | undefined;
  if (svcName !== UNKNOWN && svcNs !== UNKNOWN) {
    service = `svc:${svcNs}/${svcName}`;
    if (!nodes.has(service)) nodes.set(service, { id: service, kind: 'service', label: svcName, namespace: svcNs, parent: addBoxes(svcNs, undefined) });
  }
  const target = addWorkload('destination');
  return target === undefined ? { source, ...(service ? { service } : {}) } : { source, ...(service ? { service } : {}), target };
}

interface EdgeAcc {
  source: string;
  target: string;
  byReporter: Map<string, CounterWindow[]>;
  http: CounterWindow[];
}

export function zeroTraffic(): EdgeTraffic {
  return { bytesSentPerSec: 0, bytesReceivedPerSec: 0, connectionsOpenedPerSec: 0, connectionsClosedPerSec: 0, connectionsFailedPerSec: 0, activeConnections: 0, requestsPerSec: 0, errorPercent: 0 };
}

/** Kiali's choice: the source proxy's view when it reports (it knows the client), else the destination's. */
function pickReporter(byReporter: Map<string, CounterWindow[]>): string | undefined {
  if (byReporter.has('source')) return 'source';
  if (byReporter.has('destination')) return 'destination';
  return [...byReporter.keys()].sort()[0];
}

/**
 * Traffic through a waypoint has no destination-reported series from its real source (the destination's proxy
 * sees the waypoint), so the source proxy's word counts: it names a SPIFFE destination_principal only when it
 * verified the peer's certificate on the HBONE hop.
 */
function sourceVerified(source: CounterWindow[]): boolean {
  return source.length > 0 && source.every((c) => (c.labels['destination_principal'] ?? '').startsWith('spiffe://'));
}

function edgeOf(acc: EdgeAcc, seconds: number): GraphEdge {
  const t = zeroTraffic();
  const reporter = pickReporter(acc.byReporter);
  const chosen = reporter ? acc.byReporter.get(reporter)! : [];
  const sum = (name: string, f: (c: CounterWindow) => number) => chosen.filter((c) => c.name === name).reduce((n, c) => n + f(c), 0);
  const rate = (n: number) => (seconds > 0 ? n / seconds : 0);
  t.bytesSentPerSec = rate(sum(TCP_RECEIVED, (c) => c.increase));
  t.bytesReceivedPerSec = rate(sum(TCP_SENT, (c) => c.increase));
  t.connectionsOpenedPerSec = rate(sum(TCP_OPENED, (c) => c.increase));
  t.connectionsClosedPerSec = rate(sum(TCP_CLOSED, (c) => c.increase));
  t.connectionsFailedPerSec = rate(sum(TCP_FAILED, (c) => c.increase));
  t.activeConnections = Math.max(0, sum(TCP_OPENED, (c) => c.last) - sum(TCP_CLOSED, (c) => c.last));
  const requests = acc.http.reduce((n, c) => n + c.increase, 0);
  const errors = acc.http.filter((c) => Number(c.labels['response_code'] ?? 0) >= 400).reduce((n, c) => n + c.increase, 0);
  t.requestsPerSec = rate(requests);
  t.errorPercent = requests > 0 ? (100 * errors) / requests : 0;
  const destination = acc.byReporter.get('destination') ?? [];
  const all = [...acc.byReporter.values()].flat().concat(acc.http);
  const flags = [...new Set(all.filter((c) => c.increase > 0 || c.name === TCP_FAILED).map((c) => c.labels['response_flags'] ?? '-').filter((f) => f !== '-' && f !== ''))].sort();
  const moved = all.some((c) => c.increase > 0);
  return {
    id: `${acc.source}->${acc.target}`,
    source: acc.source,
    target: acc.target,
    protocol: acc.http.length > 0 ? 'http' : 'tcp',
    reporter: reporter ?? 'waypoint',
    mtls: destination.length > 0 ? destination.every((c) => c.labels['connection_security_policy'] === 'mutual_tls') : sourceVerified(acc.byReporter.get('source') ?? []),
    flags,
    idle: !moved,
    ...t,
  };
}

/** The graph of a window: a workload→service edge and a service→workload edge per series, rates per second. */
export function buildGraph(series: readonly CounterWindow[], seconds: number): Graph {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, EdgeAcc>();
  const add = (source: string, target: string, c: CounterWindow) => {
    const id = `${source}->${target}`;
    let acc = edges.get(id);
    if (!acc) edges.set(id, (acc = { source, target, byReporter: new Map(), http: [] }));
    if (c.name === HTTP_REQUESTS) acc.http.push(c);
    else {
      const r = c.labels['reporter'] ?? UNKNOWN;
      acc.byReporter.set(r, [...(acc.byReporter.get(r) ?? []), c]);
    }
  };
  for (const c of series) {
    const { source, service, target } = endpoints(c.labels, nodes);
    if (service) add(source, service, c);
    if (service && target) add(service, target, c);
    if (!service && target) add(source, target, c);
  }
  return { seconds, nodes: [...nodes.values()].sort(byId), edges: [...edges.values()].map((a) => edgeOf(a, seconds)).sort(byId) };
}

/**
 * The graph without workloads that left the mesh: their counters stay in the proxies until the series expire,
 * but a deleted Deployment should leave the picture at the next refresh. `live` holds "namespace/workload".
 */
export function onlyLive(graph: Graph, live: ReadonlySet<string>): Graph {
  const gone = new Set(graph.nodes.filter((n) => n.kind === 'workload' && !live.has(`${n.namespace}/${n.label}`)).map((n) => n.id));
  const edges = graph.edges.filter((e) => !gone.has(e.source) && !gone.has(e.target));
  const kept = graph.nodes.filter((n) => !gone.has(n.id));
  const parents = new Set(kept.map((n) => n.parent).filter((p) => p !== undefined));
  // An app box left empty goes too; namespace boxes stay while anything is drawn in them.
  const boxes = kept.filter((n) => n.kind !== 'app' || parents.has(n.id));
  return { ...graph, nodes: boxes, edges };
}

/** Where a workload's pods run, as the control plane's registry says (`node` is the node proxy's node). */
export interface Placement {
  namespace: string;
  name: string;
  workloadName?: string;
  node?: string;
}

/** The graph with a node per node proxy (`proxy:NODE`) and a `carries` edge to each drawn workload on its node. */
export function withNodeProxies(graph: Graph, placements: readonly Placement[]): Graph {
  const drawn = new Set(graph.nodes.filter((n) => n.kind === 'workload').map((n) => n.id));
  const carries = new Map<string, GraphEdge>();
  const proxies = new Map<string, GraphNode>();
  for (const p of placements) {
    const target = workloadId(p.namespace, p.workloadName || p.name);
    if (!p.node || !drawn.has(target)) continue;
    const source = `proxy:${p.node}`;
    proxies.set(source, { id: source, kind: 'proxy', label: `ztunnel ${p.node}` });
    const id = `${source}->${target}`;
    carries.set(id, { id, source, target, protocol: 'carries', reporter: '', mtls: false, flags: [], idle: false, ...zeroTraffic() });
  }
  return { ...graph, nodes: [...graph.nodes, ...proxies.values()].sort(byId), edges: [...graph.edges, ...carries.values()].sort(byId) };
}
