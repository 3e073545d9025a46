// The console's graph in the browser: Cytoscape.js with namespace and app boxes, edge labels in bytes/s,
// a lock on mutual-TLS edges, idle edges greyed; refreshes in place so zoom, pan and selection survive.
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape';
import type { Graph, GraphEdge, GraphNode } from '../graph.js';

export function formatRate(bytesPerSec: number): string {
  if (bytesPerSec >= 1e6) return `${(bytesPerSec / 1e6).toFixed(2)} MB/s`;
  if (bytesPerSec >= 1e3) return `${(bytesPerSec / 1e3).toFixed(1)} kB/s`;
  return `${bytesPerSec.toFixed(0)} B/s`;
}

/** What an edge says: bytes/s client→server (Kiali's reading), req/s and errors when a waypoint reports. */
export function edgeLabel(e: GraphEdge): string {
  const lock = e.mtls ? '🔒 ' : '';
  const http = e.protocol === 'http' ? ` · ${e.requestsPerSec.toFixed(1)} rps${e.errorPercent > 0 ? ` ${e.errorPercent.toFixed(0)}% err` : ''}` : '';
  return `${lock}${formatRate(e.bytesSentPerSec)}${http}`;
}

function edgeClasses(e: GraphEdge): string {
  if (e.protocol === 'carries') return 'carries';
  return [e.idle ? 'idle' : '', e.mtls ? 'mtls' : 'plain', e.flags.length > 0 ? 'denied' : ''].filter(Boolean).join(' ');
}

/** How many boxes a node is drawn in (a namespace 0, an app 1, a workload 2). */
function depth(n: GraphNode, byId: ReadonlyMap<string, GraphNode>): number {
  let d = 0;
  for (let p = n.parent; p !== undefined && d < byId.size; p = byId.get(p)?.parent) d++;
  return d;
}

/**
 * Cytoscape's elements, boxes before what they contain: a node added before its parent exists is drawn
 * outside it (that put app boxes outside their namespace box when the nodes came in id order).
 */
export function elements(g: Graph): ElementDefinition[] {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const ordered = [...g.nodes].sort((a, b) => depth(a, byId) - depth(b, byId) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const nodes: ElementDefinition[] = ordered.map((n) => ({
    group: 'nodes',
    data: { id: n.id, label: n.kind === 'workload' && n.version ? `${n.label}\n${n.version}` : n.label, kind: n.kind, ...(n.parent && byId.has(n.parent) ? { parent: n.parent } : {}) },
    classes: n.kind,
  }));
  const edges: ElementDefinition[] = g.edges.map((e) => ({ group: 'edges', data: { id: e.id, source: e.source, target: e.target, label: e.protocol === 'carries' ? '' : edgeLabel(e) }, classes: edgeClasses(e) }));
  return [...nodes, ...edges];
}

const STYLE: cytoscape.StylesheetJson = [
  { selector: 'node', style: { label: 'data(label)', 'font-size': 12, 'text-wrap': 'wrap', 'text-valign': 'bottom', 'text-margin-y': 4, color: '#1b1f24', width: 26, height: 26 } },
  { selector: 'node.workload', style: { shape: 'ellipse', 'background-color': '#2b6cb0' } },
  { selector: 'node.service', style: { shape: 'triangle', 'background-color': '#2f855a' } },
  { selector: 'node.unknown', style: { shape: 'diamond', 'background-color': '#718096' } },
  { selector: 'node.proxy', style: { shape: 'hexagon', 'background-color': '#6b46c1', width: 30, height: 30 } },
  { selector: 'node.namespace', style: { 'background-color': '#f7fafc', 'border-color': '#a0aec0', 'border-width': 1, 'text-valign': 'top', 'font-weight': 'bold', shape: 'round-rectangle' } },
  { selector: 'node.app', style: { 'background-color': '#edf2f7', 'border-color': '#cbd5e0', 'border-style': 'dashed', 'border-width': 1, 'text-valign': 'top', shape: 'round-rectangle' } },
  { selector: 'edge', style: { label: 'data(label)', 'font-size': 11, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', width: 2, 'line-color': '#3182ce', 'target-arrow-color': '#3182ce', 'text-background-color': '#ffffff', 'text-background-opacity': 0.85, 'text-background-padding': '2px', 'text-rotation': 'autorotate' } },
  { selector: 'edge.plain', style: { 'line-color': '#dd6b20', 'target-arrow-color': '#dd6b20' } },
  { selector: 'edge.denied', style: { 'line-color': '#c53030', 'target-arrow-color': '#c53030', 'line-style': 'dashed' } },
  { selector: 'edge.idle', style: { 'line-color': '#cbd5e0', 'target-arrow-color': '#cbd5e0', color: '#718096' } },
  { selector: 'edge.carries', style: { 'line-color': '#b794f4', 'line-style': 'dotted', 'target-arrow-shape': 'none', width: 1 } },
  { selector: ':selected', style: { 'overlay-color': '#d69e2e', 'overlay-opacity': 0.35, 'overlay-padding': 6 } },
];

export class GraphView {
  readonly cy: Core;

  constructor(container: HTMLElement, onSelect: (id: string | undefined) => void) {
    this.cy = cytoscape({ container, style: STYLE, elements: [], boxSelectionEnabled: false });
    this.cy.on('tap', (ev) => {
      const t = ev.target as cytoscape.SingularElementArgument | Core;
      // The background, a box or a node proxy's carries edge: nothing of its own to show.
      const inert = t === this.cy || (t as cytoscape.SingularElementArgument).is('node.namespace, node.app, edge.carries');
      onSelect(inert ? undefined : (t as cytoscape.SingularElementArgument).id());
    });
  }

  /** Adds, updates and removes elements in place; lays out again only when the set of nodes changed. */
  update(g: Graph): void {
    const wanted = elements(g);
    const ids = new Set(wanted.map((e) => e.data.id!));
    let changed = false;
    this.cy.batch(() => {
      this.cy.elements().forEach((el) => {
        if (!ids.has(el.id())) (el.remove(), (changed = true));
      });
      for (const def of wanted) {
        const el = this.cy.getElementById(def.data.id!);
        if (el.empty()) {
          this.cy.add(def);
          changed = true;
        } else {
          const { parent, ...data } = def.data;
          el.data(data);
          el.classes(def.classes as string);
          // Cytoscape ignores a parent set through data(): a node that changed box is moved.
          if (el.isNode() && (el.data('parent') ?? null) !== (parent ?? null)) (el.move({ parent: (parent as string | undefined) ?? null }), (changed = true));
        }
      }
    });
    if (changed) this.cy.layout({ name: 'cose', padding: 30, animate: false, randomize: false, nodeDimensionsIncludeLabels: true, fit: !this.fitted } as cytoscape.LayoutOptions).run();
    if (changed && !this.fitted && g.nodes.length > 0) this.fitted = true;
  }

  private fitted = false;

  select(id: string | undefined): void {
    this.cy.$(':selected').unselect();
    if (id) this.cy.getElementById(id).select();
  }
}
