// The console's list pages (workloads, services, policies, node proxies) and the page of one node proxy (its
// config dump and connections), each with a text filter and the namespace selector, their state in the URL.
import type { PolicyView, ServiceView } from '../mesh-views.js';
import type { NodeProxyView } from '../proxy-views.js';
import { getJson } from './panel.js';

export type PageName = 'workloads' | 'services' | 'policies' | 'proxies' | 'proxy';
export const PAGES: readonly PageName[] = ['workloads', 'services', 'policies', 'proxies', 'proxy'];

export interface PageState {
  page: PageName;
  /** Namespace filter ('' = all). */
  ns: string;
  /** Text filter. */
  q: string;
  /** The node of the `proxy` page. */
  node: string;
}

type Cell = string | Node;
interface Row {
  namespace?: string;
  cells: Cell[];
}

interface WorkloadRow {
  namespace: string;
  pod: string;
  workload: string;
  addresses: string[];
  node: string;
  identity: string;
  status: string;
  policies: string[];
}

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Cell[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function link(query: Record<string, string>, text: string): HTMLAnchorElement {
  return h('a', { href: `?${new URLSearchParams(query)}` }, text);
}

const textOf = (c: Cell): string => (typeof c === 'string' ? c : (c.textContent ?? ''));

/** A table whose rows the filter and the namespace selector narrow; `caption` names it for screen readers. */
function table(caption: string, header: string[], rows: Row[], state: PageState): HTMLTableElement {
  const f = state.q.toLowerCase();
  const shown = rows.filter((r) => (!state.ns || r.namespace === undefined || r.namespace === state.ns) && (!f || r.cells.map(textOf).join(' ').toLowerCase().includes(f)));
  return h(
    'table',
    { class: 'list', 'data-rows': String(shown.length) },
    h('caption', {}, `${caption} (${shown.length} of ${rows.length})`),
    h('tr', {}, ...header.map((c) => h('th', { scope: 'col' }, c))),
    ...shown.map((r) => h('tr', {}, ...r.cells.map((c) => h('td', {}, c)))),
  );
}

async function workloadsPage(state: PageState): Promise<HTMLElement[]> {
  const { workloads } = await getJson<{ workloads: WorkloadRow[] }>('/api/workloads');
  const rows = workloads.map((w) => ({
    namespace: w.namespace,
    cells: [w.namespace, link({ ns: w.namespace, sel: `wl:${w.namespace}/${w.workload}` }, w.workload), w.pod, w.addresses.join(', '), link({ page: 'proxy', node: w.node }, w.node), w.identity, w.status, w.policies.join(', ')],
  }));
  return [table('workloads', ['namespace', 'workload', 'pod', 'addresses', 'node', 'identity', 'status', 'policies'], rows, state)];
}

async function servicesPage(state: PageState): Promise<HTMLElement[]> {
  const { services } = await getJson<{ services: ServiceView[] }>('/api/services');
  const rows = services.map((s) => ({
    namespace: s.namespace,
    cells: [s.namespace, s.name, s.hostname, s.addresses.join(', '), s.ports.join(', '), s.waypoint ?? '', s.endpoints.map((e) => `${e.pod} (${e.node}, ${e.status})`).join(', ')],
  }));
  return [table('services', ['namespace', 'name', 'hostname', 'addresses', 'ports', 'waypoint', 'endpoints'], rows, state)];
}

async function policiesPage(state: PageState): Promise<HTMLElement[]> {
  const { policies } = await getJson<{ policies: PolicyView[] }>('/api/policies');
  const rows = policies.map((p) => ({
    namespace: p.namespace,
    cells: [
      p.namespace,
      p.kind,
      p.name,
      p.action ? `${p.action} (${p.rules} rules)` : 'not enforced by node proxies',
      p.scope ?? '',
      p.selector ? Object.entries(p.selector).map(([k, v]) => `${k}=${v}`).join(', ') : '(whole namespace)',
      h('span', { class: 'selects' }, p.selects.join(', ') || '(none)'),
      [p.skipped, ...p.notes].filter(Boolean).join('; '),
    ],
  }));
  return [table('policies', ['namespace', 'kind', 'name', 'enforced', 'scope', 'selector', 'selects', 'notes'], rows, state)];
}

async function proxiesPage(state: PageState): Promise<HTMLElement[]> {
  const { proxies } = await getJson<{ proxies: NodeProxyView[] }>('/api/proxies');
  const rows = proxies.map((p) => ({
    cells: [link({ page: 'proxy', node: p.node }, p.proxy), p.node, p.address, String(p.dump?.workloads.length ?? '-'), String(p.dump?.services.length ?? '-'), String(p.dump?.policies.length ?? '-'), String(p.dump?.certificates.length ?? '-'), String(p.connections.length), p.error],
  }));
  return [table('node proxies', ['proxy', 'node', 'address', 'workloads', 'services', 'policies', 'certificates', 'connections', 'error'], rows, state)];
}

/** One node proxy: its settings, certificates, the workloads on its node and its open connections. */
async function proxyPage(state: PageState): Promise<HTMLElement[]> {
  const p = await getJson<NodeProxyView>(`/api/proxy?node=${encodeURIComponent(state.node)}`);
  const dump = p.dump;
  const settings = h('dl', { class: 'settings' }, ...Object.entries(dump?.config ?? {}).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'string' ? v : JSON.stringify(v))]));
  const local = (dump?.workloads ?? []).filter((w) => w['node'] === p.node);
  const certificates = (dump?.certificates ?? []).map((c) => ({ cells: [c.identity, c.state, c.certChain[0]?.serialNumber ?? '', c.certChain[0]?.expirationTime ?? ''] }));
  const workloads = local.map((w) => ({ namespace: String(w['namespace']), cells: [String(w['namespace']), String(w['name']), String(w['workloadName'] ?? ''), ((w['addresses'] as string[] | undefined) ?? []).join(', '), String(w['status'] ?? '')] }));
  const connections = p.connections.map((c) => ({
    namespace: String(c['namespace']),
    cells: [String(c['namespace']), String(c['workload']), String(c['direction']), String(c['protocol']), String(c['local']), String(c['remote']), String(c['remoteTarget']), String(c['bytesSent']), String(c['bytesReceived'])],
  }));
  return [
    h('p', {}, `${p.proxy} at ${p.address}`, p.error ? h('span', { class: 'error' }, ` — ${p.error}`) : ''),
    settings,
    table('certificates', ['identity', 'state', 'serial', 'expires'], certificates, state),
    table(`workloads on ${p.node}`, ['namespace', 'pod', 'workload', 'addresses', 'status'], workloads, state),
    table('open connections', ['namespace', 'pod', 'direction', 'protocol', 'local', 'remote', 'target', 'bytes sent', 'bytes received'], connections, state),
  ];
}

const RENDER: Record<PageName, (s: PageState) => Promise<HTMLElement[]>> = {
  workloads: workloadsPage,
  services: servicesPage,
  policies: policiesPage,
  proxies: proxiesPage,
  proxy: proxyPage,
};

export const TITLES: Record<PageName, string> = { workloads: 'Workloads', services: 'Services', policies: 'Policies', proxies: 'Node proxies', proxy: 'Node proxy' };

/** Draws `state.page` into `box`; the filter box keeps its text (and focus) while the tables redraw. */
export async function renderPage(box: HTMLElement, state: PageState, onFilter: (q: string) => void): Promise<void> {
  const filter = h('input', { type: 'search', placeholder: 'filter', 'aria-label': 'filter', id: 'filter', value: state.q });
  const content = h('div', { class: 'tables' }, ...(await RENDER[state.page](state)));
  filter.addEventListener('input', () => {
    onFilter(filter.value);
    void RENDER[state.page]({ ...state, q: filter.value }).then((parts) => content.replaceChildren(...parts));
  });
  box.replaceChildren(h('h2', {}, state.page === 'proxy' ? `${TITLES.proxy} ${state.node}` : TITLES[state.page]), filter, content);
}
