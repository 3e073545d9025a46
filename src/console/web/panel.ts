// The console's side panel: an edge's istio_tcp_* series over time as uPlot charts (also per reporter), or a
// workload's pods, addresses, node, identity and certificate state with its recent access-log lines.
import uPlot from 'uplot';
import type { GraphEdge, GraphNode } from '../graph.js';
import type { PodDetails } from '../mesh-views.js';
import type { NodePoint, SeriesPoint } from '../traffic-source.js';
import { formatRate } from './graph-view.js';

const CHART_WIDTH = 330;
const CHART_HEIGHT = 150;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

type Line<P extends { t: number }> = [label: string, points: P[], value: (p: P) => number, stroke: string];

/** A uPlot chart on the first line's time steps; another line's missing step (a scrape between two requests) is a gap. */
function chart<P extends { t: number }>(title: string, lines: Array<Line<P>>, unit: (v: number) => string): HTMLElement {
  const steps = lines[0]?.[1] ?? [];
  const box = el('figure', { class: 'chart', 'data-points': String(steps.length) }, el('figcaption', {}, title));
  const at = lines.map(([, points]) => new Map(points.map((p) => [p.t, p])));
  const data: uPlot.AlignedData = [steps.map((p) => p.t), ...lines.map(([, , f], i) => steps.map((s) => (at[i]!.has(s.t) ? f(at[i]!.get(s.t)!) : null)))];
  new uPlot(
    {
      width: CHART_WIDTH,
      height: CHART_HEIGHT,
      // A static legend (names and colours only): the live one adds a row of "--" values to every chart.
      legend: { live: false },
      series: [{}, ...lines.map(([label, , , stroke]) => ({ label, stroke, width: 1.5 }))],
      axes: [{}, { values: (_u, vals) => vals.map(unit), size: 70 }],
    },
    data,
    box,
  );
  return box;
}

export async function showEdge(panel: HTMLElement, edge: GraphEdge, windowSeconds: number): Promise<void> {
  const series = (reporter: string) => getJson<{ points: SeriesPoint[] }>(`/api/series?edge=${encodeURIComponent(edge.id)}&window=${windowSeconds}${reporter ? `&reporter=${reporter}` : ''}`).then((r) => r.points);
  const [points, bySource, byDestination] = await Promise.all([series(''), series('source'), series('destination')]);
  const facts = el(
    'dl',
    {},
    el('dt', {}, 'sent (client→server)'),
    el('dd', { class: 'bytes-sent' }, formatRate(edge.bytesSentPerSec)),
    el('dt', {}, 'received (server→client)'),
    el('dd', {}, formatRate(edge.bytesReceivedPerSec)),
    el('dt', {}, 'connections'),
    el('dd', {}, `${edge.connectionsOpenedPerSec.toFixed(2)}/s opened, ${edge.activeConnections} active`),
    el('dt', {}, 'security'),
    el('dd', { class: edge.mtls ? 'mtls' : 'plain' }, edge.mtls ? '🔒 mutual TLS' : 'not mutual TLS'),
    el('dt', {}, 'reporter'),
    el('dd', {}, edge.reporter),
    ...(edge.protocol === 'http' ? [el('dt', {}, 'HTTP'), el('dd', {}, `${edge.requestsPerSec.toFixed(2)} req/s, ${edge.errorPercent.toFixed(1)} % errors`)] : []),
    ...(edge.flags.length > 0 ? [el('dt', {}, 'response flags'), el('dd', { class: 'denied' }, edge.flags.join(', '))] : []),
  );
  panel.replaceChildren(
    el('h2', {}, `${edge.source.replace(/^\w+:/, '')} → ${edge.target.replace(/^\w+:/, '')}`),
    facts,
    chart(`bytes/s (reporter ${edge.reporter})`, [['sent', points, (p) => p.bytesSentPerSec, '#3182ce'], ['received', points, (p) => p.bytesReceivedPerSec, '#38a169']], formatRate),
    chart('connections/s', [['opened', points, (p) => p.connectionsOpenedPerSec, '#805ad5'], ['closed', points, (p) => p.connectionsClosedPerSec, '#d69e2e']], (v) => v.toFixed(2)),
    chart('sent bytes/s by reporter', [['source', bySource, (p) => p.bytesSentPerSec, '#2b6cb0'], ['destination', byDestination, (p) => p.bytesSentPerSec, '#c05621']], formatRate),
  );
}

/** A workload's or service's traffic in and out over time; for a workload also its pods (IP, node, identity, certificate) and recent access-log lines. */
export async function showNode(panel: HTMLElement, node: GraphNode, windowSeconds: number): Promise<void> {
  panel.replaceChildren(el('h2', {}, `${node.kind} ${node.namespace ? `${node.namespace}/` : ''}${node.label}`));
  if (node.kind === 'proxy') {
    panel.append(el('p', {}, el('a', { href: `?page=proxy&node=${encodeURIComponent(node.id.slice('proxy:'.length))}` }, 'config dump and connections')));
    return;
  }
  if (node.kind !== 'workload' && node.kind !== 'service') return;
  const { points } = await getJson<{ points: NodePoint[] }>(`/api/series?node=${encodeURIComponent(node.id)}&window=${windowSeconds}`);
  panel.append(
    chart('bytes/s in and out (client→server)', [['in', points, (p) => p.inBytesPerSec, '#3182ce'], ['out', points, (p) => p.outBytesPerSec, '#38a169']], formatRate),
    chart('connections opened/s', [['in', points, (p) => p.inConnectionsOpenedPerSec, '#805ad5'], ['out', points, (p) => p.outConnectionsOpenedPerSec, '#d69e2e']], (v) => v.toFixed(2)),
  );
  if (node.kind !== 'workload') return;
  const { pods, lines } = await getJson<{ pods: PodDetails[]; lines: string[] }>(`/api/workload?namespace=${encodeURIComponent(node.namespace ?? '')}&name=${encodeURIComponent(node.label)}`);
  // One block per pod: a 360 px panel has no room for a five-column table with SPIFFE identities in it.
  const blocks = pods.map((p) =>
    el(
      'dl',
      { class: 'pod', 'data-pod': p.name },
      ...(
        [
          ['pod', 'pod-name', p.name],
          ['IP', 'pod-ip', p.addresses.join(', ')],
          ['node', 'pod-node', p.node],
          ['identity', 'pod-identity', p.identity],
          ['certificate', 'pod-cert', p.certificate ? `${p.certificate.state}, until ${p.certificate.notAfter ?? '?'}` : 'none on its node proxy'],
        ] as const
      ).flatMap(([label, cls, value]) => [el('dt', {}, label), el('dd', { class: cls }, value)]),
    ),
  );
  panel.append(
    el('h3', {}, `pods (${pods.length})`),
    ...blocks,
    el('h3', {}, 'recent access log'),
    el('pre', { class: 'log', 'data-lines': String(lines.length) }, lines.slice(-20).join('\n') || '(none yet)'),
  );
}
