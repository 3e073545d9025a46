// The console's side panel: an edge's istio_tcp_* series over time as uPlot charts, or a workload's pods,
// addresses, identity and certificate state with its recent access-log lines.
import uPlot from 'uplot';
import type { GraphEdge, GraphNode } from '../graph.js';
import type { SeriesPoint } from '../metrics-history.js';
import { formatRate } from './graph-view.js';

const CHART_WIDTH = 330;
const CHART_HEIGHT = 150;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

function chart(title: string, points: SeriesPoint[], lines: Array<[string, (p: SeriesPoint) => number, string]>, unit: (v: number) => string): HTMLElement {
  const box = el('figure', { class: 'chart', 'data-points': String(points.length) }, el('figcaption', {}, title));
  const data: uPlot.AlignedData = [points.map((p) => p.t), ...lines.map(([, f]) => points.map(f))];
  new uPlot(
    {
      width: CHART_WIDTH,
      height: CHART_HEIGHT,
      series: [{}, ...lines.map(([label, , stroke]) => ({ label, stroke, width: 1.5 }))],
      axes: [{}, { values: (_u, vals) => vals.map(unit), size: 70 }],
    },
    data,
    box,
  );
  return box;
}

export async function showEdge(panel: HTMLElement, edge: GraphEdge, windowSeconds: number): Promise<void> {
  const { points } = await getJson<{ points: SeriesPoint[] }>(`/api/series?edge=${encodeURIComponent(edge.id)}&window=${windowSeconds}`);
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
    chart('bytes/s', points, [['sent', (p) => p.bytesSentPerSec, '#3182ce'], ['received', (p) => p.bytesReceivedPerSec, '#38a169']], formatRate),
    chart('connections/s', points, [['opened', (p) => p.connectionsOpenedPerSec, '#805ad5'], ['closed', (p) => p.connectionsClosedPerSec, '#d69e2e']], (v) => v.toFixed(2)),
  );
}

interface WorkloadInfo {
  name: string;
  namespace: string;
  workloadName?: string;
  addresses?: string[];
  node?: string;
  serviceAccount?: string;
  status?: string;
}

export async function showNode(panel: HTMLElement, node: GraphNode): Promise<void> {
  panel.replaceChildren(el('h2', {}, `${node.kind} ${node.namespace ? `${node.namespace}/` : ''}${node.label}`));
  if (node.kind !== 'workload') return;
  const [{ workloads, certificates }, { lines }] = await Promise.all([
    getJson<{ workloads: WorkloadInfo[]; certificates: Array<{ identity: string; state: string; notAfter: string | null }> }>('/api/workloads'),
    getJson<{ lines: string[] }>(`/api/logs?workload=${encodeURIComponent(node.label)}`),
  ]);
  const pods = workloads.filter((w) => w.namespace === node.namespace && (w.workloadName ?? w.name) === node.label);
  const rows = pods.map((p) => {
    const identity = `spiffe://cluster.local/ns/${p.namespace}/sa/${p.serviceAccount ?? 'default'}`;
    const cert = certificates.find((c) => c.identity === identity);
    return el('tr', {}, el('td', {}, p.name), el('td', {}, (p.addresses ?? []).join(', ')), el('td', {}, p.node ?? ''), el('td', {}, identity), el('td', {}, cert ? `${cert.state} until ${cert.notAfter ?? '?'}` : 'none'));
  });
  const head = el('tr', {}, ...['pod', 'IP', 'node', 'identity', 'certificate'].map((h) => el('th', {}, h)));
  panel.append(el('table', { class: 'pods' }, head, ...rows), el('h3', {}, 'recent access log'), el('pre', { class: 'log' }, lines.slice(-20).join('\n') || '(none yet)'));
}
