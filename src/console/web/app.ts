// The console's web app: the live graph with its legend and keyboard-reachable edge list, the side panel,
// and the workloads and node-proxies pages; its state (page, namespace, window, selection) lives in the URL.
import type { Graph, GraphEdge } from '../graph.js';
import { edgeLabel, GraphView } from './graph-view.js';
import { showEdge, showNode } from './panel.js';
import './app.css';

/** A refresh every 5 s: two of the console's 2 s scrapes, so each refresh shows new counters. */
const REFRESH_MS = 5_000;
const WINDOWS = [30, 60, 300, 600];

interface State {
  page: 'graph' | 'workloads' | 'proxies';
  ns: string;
  window: number;
  sel: string | undefined;
}

function readState(): State {
  const q = new URLSearchParams(location.search);
  const page = q.get('page');
  const w = Number(q.get('window'));
  return { page: page === 'workloads' || page === 'proxies' ? page : 'graph', ns: q.get('ns') ?? '', window: WINDOWS.includes(w) ? w : 60, sel: q.get('sel') ?? undefined };
}

const state = readState();
let graph: Graph = { seconds: 0, nodes: [], edges: [] };

function writeState(): void {
  const q = new URLSearchParams();
  if (state.page !== 'graph') q.set('page', state.page);
  if (state.ns) q.set('ns', state.ns);
  q.set('window', String(state.window));
  if (state.sel) q.set('sel', state.sel);
  history.replaceState(null, '', `?${q}`);
}

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

const root = document.getElementById('app')!;
const nsSelect = h('select', { id: 'ns', 'aria-label': 'namespace' }, h('option', { value: '' }, 'all namespaces'));
const winSelect = h('select', { id: 'window', 'aria-label': 'window' }, ...WINDOWS.map((w) => h('option', { value: String(w) }, `last ${w < 60 ? `${w}s` : `${w / 60}m`}`)));
winSelect.value = String(state.window);
const nav = h('nav', {}, ...(['graph', 'workloads', 'proxies'] as const).map((p) => h('a', { href: `?page=${p}`, 'data-page': p }, p === 'proxies' ? 'node proxies' : p)));
const status = h('span', { id: 'status', role: 'status' });
const legend = h(
  'div',
  { class: 'legend' },
  h('span', { class: 'key mtls' }, '🔒 mutual TLS'),
  h('span', { class: 'key plain' }, 'not mTLS'),
  h('span', { class: 'key denied' }, 'denied / failed'),
  h('span', { class: 'key idle' }, 'idle in window'),
  h('span', {}, 'edge label: client→server bytes/s (istio_tcp_received_bytes_total, source reporter first — Kiali\'s reading)'),
);
const cyBox = h('div', { id: 'cy', role: 'img', 'aria-label': 'service graph' });
const edgeList = h('ul', { id: 'edges', 'aria-label': 'edges' });
const panel = h('aside', { id: 'panel', 'aria-live': 'polite' }, h('p', {}, 'Select a node or an edge.'));
const pageBox = h('section', { id: 'page' });
root.append(h('header', {}, h('h1', {}, 'l4mesh'), nav, nsSelect, winSelect, status), h('main', {}, h('div', { id: 'graph-page' }, legend, cyBox, edgeList), pageBox, panel));

const view = new GraphView(cyBox, (id) => select(id));
// A handle for debugging from the browser's console (and for the browser test to find an edge on the canvas).
(window as unknown as { l4meshConsole: unknown }).l4meshConsole = { cy: view.cy };

function visible(g: Graph): Graph {
  if (!state.ns) return g;
  const nodes = g.nodes.filter((n) => n.namespace === state.ns || n.kind === 'unknown');
  const ids = new Set(nodes.map((n) => n.id));
  return { ...g, nodes, edges: g.edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
}

function name(id: string): string {
  return id.replace(/^\w+:/, '');
}

function renderEdgeList(edges: GraphEdge[]): void {
  edgeList.replaceChildren(
    ...edges.map((e) => {
      const b = h('button', { type: 'button', 'data-edge': e.id, class: e.idle ? 'idle' : '' }, `${name(e.source)} → ${name(e.target)}: `, h('span', { class: 'rate', 'data-bytes-per-sec': String(e.bytesSentPerSec) }, edgeLabel(e).replace('🔒 ', '')));
      if (e.mtls) b.prepend(h('span', { class: 'lock', title: 'mutual TLS', 'aria-label': 'mutual TLS' }, '🔒 '));
      if (e.id === state.sel) b.setAttribute('aria-pressed', 'true');
      b.addEventListener('click', () => select(e.id));
      return h('li', {}, b);
    }),
  );
}

async function showSelection(): Promise<void> {
  const edge = graph.edges.find((e) => e.id === state.sel);
  const node = graph.nodes.find((n) => n.id === state.sel);
  try {
    if (edge) await showEdge(panel, edge, state.window);
    else if (node) await showNode(panel, node);
    else panel.replaceChildren(h('p', {}, 'Select a node or an edge.'));
  } catch (err) {
    panel.replaceChildren(h('p', { class: 'error' }, (err as Error).message));
  }
}

function select(id: string | undefined): void {
  state.sel = id;
  writeState();
  view.select(id);
  renderEdgeList(visible(graph).edges);
  void showSelection();
}

async function refreshGraph(): Promise<void> {
  const res = await fetch(`/api/graph?window=${state.window}`);
  const g = (await res.json()) as Graph & { error: string; from: number; to: number };
  graph = g;
  const namespaces = [...new Set(g.nodes.filter((n) => n.kind === 'namespace').map((n) => n.label))].sort();
  for (const ns of namespaces) if (!Array.from(nsSelect.options).some((o) => o.value === ns)) nsSelect.append(h('option', { value: ns }, ns));
  nsSelect.value = state.ns;
  const shown = visible(g);
  view.update(shown);
  view.select(state.sel);
  renderEdgeList(shown.edges);
  status.textContent = g.error || `${shown.edges.length} edges over ${g.seconds.toFixed(0)} s, updated ${new Date(g.to).toLocaleTimeString()}`;
  // What the graph drew and over which window, for whoever checks the page (the browser test does).
  cyBox.dataset['from'] = String(g.from);
  cyBox.dataset['to'] = String(g.to);
  cyBox.dataset['nodes'] = view.cy.nodes().map((n) => n.id()).join(' ');
  // The open chart follows the refresh; a deleted selection closes the panel.
  if (state.sel && g.edges.some((e) => e.id === state.sel)) await showSelection();
}

async function renderPage(): Promise<void> {
  const filter = h('input', { type: 'search', placeholder: 'filter', 'aria-label': 'filter' });
  const table = h('table', { class: 'list' });
  const rowsOf = async (): Promise<string[][]> => {
    if (state.page === 'workloads') {
      const { workloads } = (await (await fetch('/api/workloads')).json()) as { workloads: Array<Record<string, unknown>> };
      return workloads.filter((w) => !state.ns || w['namespace'] === state.ns).map((w) => [String(w['namespace'] ?? ''), String(w['name'] ?? ''), String(w['workloadName'] ?? ''), JSON.stringify(w['addresses'] ?? w['workloadIps'] ?? ''), String(w['node'] ?? ''), String(w['serviceAccount'] ?? '')]);
    }
    const { proxies } = (await (await fetch('/api/proxies')).json()) as { proxies: Array<{ proxy: string; node: string; address: string; error: string; dump: { workloads: unknown[]; services: unknown[]; policies: unknown[] } | null; connections: unknown[] }> };
    return proxies.map((p) => [p.proxy, p.node, p.address, String(p.dump?.workloads.length ?? '-'), String(p.dump?.services.length ?? '-'), String(p.dump?.policies.length ?? '-'), String(p.connections.length), p.error]);
  };
  const header = state.page === 'workloads' ? ['namespace', 'pod', 'workload', 'addresses', 'node', 'service account'] : ['proxy', 'node', 'address', 'workloads', 'services', 'policies', 'connections', 'error'];
  const rows = await rowsOf();
  const draw = () => {
    const f = filter.value.toLowerCase();
    table.replaceChildren(h('tr', {}, ...header.map((c) => h('th', {}, c))), ...rows.filter((r) => r.join(' ').toLowerCase().includes(f)).map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c)))));
  };
  filter.addEventListener('input', draw);
  draw();
  pageBox.replaceChildren(h('h2', {}, state.page === 'workloads' ? 'Workloads' : 'Node proxies'), filter, table);
}

function showPage(): void {
  document.getElementById('graph-page')!.hidden = state.page !== 'graph';
  pageBox.hidden = state.page === 'graph';
  panel.hidden = state.page !== 'graph';
  for (const a of Array.from(nav.querySelectorAll('a'))) a.toggleAttribute('aria-current', a.dataset['page'] === state.page);
  if (state.page !== 'graph') void renderPage();
}

nav.addEventListener('click', (ev) => {
  const a = (ev.target as HTMLElement).closest('a');
  if (!a) return;
  ev.preventDefault();
  state.page = a.dataset['page'] as State['page'];
  writeState();
  showPage();
});
nsSelect.addEventListener('change', () => {
  state.ns = nsSelect.value;
  writeState();
  if (state.page === 'graph') void refreshGraph();
  else void renderPage();
});
winSelect.addEventListener('change', () => {
  state.window = Number(winSelect.value);
  writeState();
  void refreshGraph();
});
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape') select(undefined);
});

writeState();
showPage();
const tick = () => {
  if (state.page === 'graph') refreshGraph().catch((err: Error) => (status.textContent = `cannot reach the console: ${err.message}`));
};
tick();
setInterval(tick, REFRESH_MS);
if (state.sel) void showSelection();
