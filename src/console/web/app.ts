// The console's web app: the live graph with its legend and keyboard-reachable edge and node lists, the side
// panel, and the workloads, services, policies and node-proxy pages; its state lives in the URL's query string.
import type { Graph, GraphEdge, GraphNode } from '../graph.js';
import { edgeLabel, GraphView } from './graph-view.js';
import { PAGES, renderPage, TITLES, type PageName } from './pages.js';
import { showEdge, showNode } from './panel.js';
import './app.css';

/** A refresh every 5 s: two of the console's 2 s scrapes, so each refresh shows new counters. */
const REFRESH_MS = 5_000;
const WINDOWS = [30, 60, 300, 600];
const DEFAULT_WINDOW = 60;

interface State {
  page: 'graph' | PageName;
  ns: string;
  window: number;
  sel: string | undefined;
  /** Node proxies drawn as nodes. */
  proxies: boolean;
  q: string;
  node: string;
}

function readState(): State {
  const q = new URLSearchParams(location.search);
  const page = q.get('page') as PageName | null;
  const w = Number(q.get('window'));
  return {
    page: page && PAGES.includes(page) ? page : 'graph',
    ns: q.get('ns') ?? '',
    window: WINDOWS.includes(w) ? w : DEFAULT_WINDOW,
    sel: q.get('sel') ?? undefined,
    proxies: q.get('proxies') === '1',
    q: q.get('q') ?? '',
    node: q.get('node') ?? '',
  };
}

const state = readState();
let graph: Graph & { source?: string } = { seconds: 0, nodes: [], edges: [] };

/** Only what differs from the defaults goes in the URL, so a shared link is short. */
function writeState(): void {
  const q = new URLSearchParams();
  if (state.page !== 'graph') q.set('page', state.page);
  if (state.ns) q.set('ns', state.ns);
  if (state.page === 'graph') q.set('window', String(state.window));
  if (state.page === 'graph' && state.sel) q.set('sel', state.sel);
  if (state.page === 'graph' && state.proxies) q.set('proxies', '1');
  if (state.page !== 'graph' && state.q) q.set('q', state.q);
  if (state.page === 'proxy') q.set('node', state.node);
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
const proxyToggle = h('input', { type: 'checkbox', id: 'show-proxies' });
proxyToggle.checked = state.proxies;
const nav = h('nav', {}, ...(['graph', 'workloads', 'services', 'policies', 'proxies'] as const).map((p) => h('a', { href: `?page=${p}`, 'data-page': p }, p === 'graph' ? 'graph' : TITLES[p].toLowerCase())));
const status = h('span', { id: 'status', role: 'status' });
const legend = h(
  'div',
  { class: 'legend' },
  h('span', { class: 'key mtls' }, '🔒 mutual TLS'),
  h('span', { class: 'key plain' }, 'not mTLS'),
  h('span', { class: 'key denied' }, 'denied / failed'),
  h('span', { class: 'key idle' }, 'idle in window'),
  h('span', { class: 'key carries' }, 'node proxy carries'),
  h('label', {}, proxyToggle, ' node proxies'),
  h('span', {}, 'edge label: client→server bytes/s (istio_tcp_received_bytes_total, source reporter first — Kiali\'s reading)'),
);
const cyBox = h('div', { id: 'cy', role: 'img', 'aria-label': 'service graph (the lists below reach every edge and node by keyboard)' });
const edgeList = h('ul', { id: 'edges', 'aria-label': 'edges' });
const nodeList = h('ul', { id: 'nodes', 'aria-label': 'workloads and services' });
const panel = h('aside', { id: 'panel', 'aria-live': 'polite', 'aria-label': 'details' }, h('p', {}, 'Select a node or an edge.'));
const pageBox = h('section', { id: 'page' });
root.append(
  h('header', {}, h('h1', {}, 'l4mesh'), nav, nsSelect, winSelect, status),
  h('main', {}, h('div', { id: 'graph-page' }, legend, cyBox, h('div', { id: 'lists' }, edgeList, nodeList)), pageBox, panel),
);

const view = new GraphView(cyBox, (id) => select(id));
// A handle for debugging from the browser's console (and for the browser test to find an edge on the canvas).
(window as unknown as { l4meshConsole: unknown }).l4meshConsole = { cy: view.cy };

function visible(g: Graph): Graph {
  if (!state.ns) return g;
  const nodes = g.nodes.filter((n) => n.namespace === state.ns || n.kind === 'unknown' || n.kind === 'proxy');
  const ids = new Set(nodes.map((n) => n.id));
  return { ...g, nodes, edges: g.edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
}

function name(id: string): string {
  return id.replace(/^\w+:/, '');
}

function button(attrs: Record<string, string>, id: string, ...children: Array<Node | string>): HTMLLIElement {
  const b = h('button', { type: 'button', ...attrs }, ...children);
  if (id === state.sel) b.setAttribute('aria-pressed', 'true');
  b.addEventListener('click', () => select(id));
  return h('li', {}, b);
}

function renderLists(g: Graph): void {
  // The lists are redrawn on every refresh: the button that had the keyboard focus gets it back.
  const focused = document.activeElement instanceof HTMLButtonElement && document.activeElement.closest('#lists') ? (document.activeElement.dataset['edge'] ?? document.activeElement.dataset['node']) : undefined;
  edgeList.replaceChildren(
    ...g.edges
      .filter((e) => e.protocol !== 'carries')
      .map((e) =>
        button(
          { 'data-edge': e.id, class: e.idle ? 'idle' : '' },
          e.id,
          ...(e.mtls ? [h('span', { class: 'lock', title: 'mutual TLS', 'aria-label': 'mutual TLS' }, '🔒 ')] : []),
          `${name(e.source)} → ${name(e.target)}: `,
          h('span', { class: 'rate', 'data-bytes-per-sec': String(e.bytesSentPerSec) }, edgeLabel(e).replace('🔒 ', '')),
        ),
      ),
  );
  const selectable = (n: GraphNode) => n.kind === 'workload' || n.kind === 'service' || n.kind === 'proxy';
  nodeList.replaceChildren(...g.nodes.filter(selectable).map((n) => button({ 'data-node': n.id }, n.id, `${n.kind} ${name(n.id)}`)));
  if (focused) Array.from(document.querySelectorAll<HTMLButtonElement>('#lists button')).find((b) => (b.dataset['edge'] ?? b.dataset['node']) === focused)?.focus();
}

/** Bumped by every render of the panel: a slower, older render (a refresh's charts) must not replace a newer one. */
let panelRender = 0;

async function showSelection(): Promise<void> {
  const render = ++panelRender;
  const edge = graph.edges.find((e) => e.id === state.sel);
  const node = graph.nodes.find((n) => n.id === state.sel);
  // Drawn off-page, shown at once if nothing newer started meanwhile.
  const box = h('div');
  try {
    if (edge) await showEdge(box, edge, state.window);
    else if (node) await showNode(box, node, state.window);
    else box.append(h('p', {}, 'Select a node or an edge.'));
  } catch (err) {
    box.replaceChildren(h('p', { class: 'error' }, (err as Error).message));
  }
  if (render === panelRender) panel.replaceChildren(...Array.from(box.childNodes));
}

function select(id: string | undefined): void {
  state.sel = id;
  writeState();
  view.select(id);
  renderLists(visible(graph));
  void showSelection();
}

/** Adds the namespaces not yet offered by the selector (it starts with only "all namespaces"). */
function offerNamespaces(namespaces: Iterable<string>): void {
  for (const ns of [...new Set(namespaces)].sort()) if (ns && !Array.from(nsSelect.options).some((o) => o.value === ns)) nsSelect.append(h('option', { value: ns }, ns));
  nsSelect.value = state.ns;
}

async function refreshGraph(): Promise<void> {
  const res = await fetch(`/api/graph?window=${state.window}${state.proxies ? '&proxies=1' : ''}`);
  const g = (await res.json()) as Graph & { error: string; from: number; to: number; source: string };
  graph = g;
  offerNamespaces(g.nodes.filter((n) => n.kind === 'namespace').map((n) => n.label));
  const shown = visible(g);
  view.update(shown);
  view.select(state.sel);
  renderLists(shown);
  const traffic = shown.edges.filter((e) => e.protocol !== 'carries').length;
  status.textContent = g.error || `${traffic} edges over ${g.seconds.toFixed(0)} s from ${g.source === 'prometheus' ? 'Prometheus' : 'the proxies'}, updated ${new Date(g.to).toLocaleTimeString()}`;
  // What the graph drew and over which window, for whoever checks the page (the browser test does).
  cyBox.dataset['from'] = String(g.from);
  cyBox.dataset['to'] = String(g.to);
  cyBox.dataset['source'] = g.source;
  cyBox.dataset['nodes'] = view.cy.nodes().map((n) => n.id()).join(' ');
  // The open chart follows the refresh; a deleted selection closes the panel.
  if (state.sel && g.edges.some((e) => e.id === state.sel)) await showSelection();
}

function showPage(): void {
  document.getElementById('graph-page')!.hidden = state.page !== 'graph';
  pageBox.hidden = state.page === 'graph';
  panel.hidden = state.page !== 'graph';
  winSelect.hidden = state.page !== 'graph';
  for (const a of Array.from(nav.querySelectorAll('a'))) a.toggleAttribute('aria-current', a.dataset['page'] === state.page || (a.dataset['page'] === 'proxies' && state.page === 'proxy'));
  if (state.page !== 'graph') renderPage(pageBox, state as State & { page: PageName }, (q) => ((state.q = q), writeState())).catch((err: Error) => pageBox.replaceChildren(h('p', { class: 'error' }, err.message)));
}

nav.addEventListener('click', (ev) => {
  const a = (ev.target as HTMLElement).closest('a');
  if (!a) return;
  ev.preventDefault();
  state.page = a.dataset['page'] as State['page'];
  state.q = '';
  writeState();
  showPage();
  if (state.page === 'graph') void refreshGraph();
});
nsSelect.addEventListener('change', () => {
  state.ns = nsSelect.value;
  writeState();
  showPage();
  if (state.page === 'graph') void refreshGraph();
});
winSelect.addEventListener('change', () => {
  state.window = Number(winSelect.value);
  writeState();
  void refreshGraph();
});
proxyToggle.addEventListener('change', () => {
  state.proxies = proxyToggle.checked;
  writeState();
  void refreshGraph();
});
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && state.page === 'graph') select(undefined);
});

writeState();
showPage();
// Every namespace with a workload, also those without traffic yet (the graph adds its own on each refresh).
fetch('/api/workloads')
  .then(async (r) => offerNamespaces(((await r.json()) as { workloads: Array<{ namespace: string }> }).workloads.map((w) => w.namespace)))
  .catch(() => undefined);
const tick = () => {
  if (state.page === 'graph') refreshGraph().catch((err: Error) => (status.textContent = `cannot reach the console: ${err.message}`));
};
tick();
setInterval(tick, REFRESH_MS);
if (state.sel) void showSelection();
