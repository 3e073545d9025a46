// The console's graph in the browser: Cytoscape.js with namespace and app boxes, edge labels in bytes/s,
// a lock on mutual-TLS edges, idle edges greyed; refreshes in place so zoom, pan and selection survive.
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape';
import type { Graph, GraphEdge } from '../graph.js';

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
  return [e.idle ? 'idle' : '', e.mtls ? 'mtls' : 'plain', e.flags.length > 0 ? 'denied' : ''].filter(Boolean).join(' ');
}

function elements(g: Graph): ElementDefinition[] {
  const nodes: ElementDefinition[] = g.nodes.map((n) => ({
    group: 'nodes',
    data: { id: n.id, label: n.kind === 'workload' && n.version ? `${n.label}\n${n.version}` : n.label, kind: n.kind, ...(n.parent ? { parent: n.parent } : {}) },
    classes: n.kind,
  }));
  const edges: ElementDefinition[] = g.edges.map((e) => ({ group: 'edges', data: { id: e.id, source: e.source, target: e.target, label: edgeLabel(e) }, classes: edgeClasses(e) }));
  return [...nodes, ...edges];
}

const STYLE: cytoscape.StylesheetJson = [
  { selector: 'node', style: { label: 'data(label)', 'font-size': 11, 'text-wrap': 'wrap', 'text-valign': 'bottom', 'text-margin-y': 4, color: '#1b1f24', width: 26, height: 26 } },
  { selector: 'node.workload', style: { shape: 'ellipse', 'background-color': '#2b6cb0' } },
  { selector: 'node.service', style: { shape: 'triangle', 'background-color': '#2f855a' } },
  { selector: 'node.unknown', style: { shape: 'diamond', 'background-color': '#718096' } },
  { selector: 'node.namespace', style: { 'background-color': '#f7fafc', 'border-color': '#a0aec0', 'border-width': 1, 'text-valign': 'top', 'font-weight': 'bold', shape: 'round-rectangle' } },
  { selector: 'node.app', style: { 'background-color': '#edf2f7', 'border-color': '#cbd5e0', 'border-style': 'dashed', 'border-width': 1, 'text-valign': 'top', shape: 'round-rectangle' } },
  { selector: 'edge', style: { label: 'data(label)', 'font-size': 10, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', width: 2, 'line-color': '#3182ce', 'target-arrow-color': '#3182ce', 'text-background-color': '#ffffff', 'text-background-opacity': 0.85, 'text-background-padding': '2px', 'text-rotation': 'autorotate' } },
  { selector: 'edge.plain', style: { 'line-color': '#dd6b20', 'target-arrow-color': '#dd6b20' } },
  { selector: 'edge.denied', style: { 'line-color': '#c53030', 'target-arrow-color': '#c53030', 'line-style': 'dashed' } },
  { selector: 'edge.idle', style: { 'line-color': '#cbd5e0', 'target-arrow-color': '#cbd5e0', color: '#718096' } },
  { selector: ':selected', style: { 'overlay-color': '#d69e2e', 'overlay-opacity': 0.35, 'overlay-padding': 6 } },
];

export class GraphView {
  readonly cy: Core;

  constructor(container: HTMLElement, onSelect: (id: string | undefined) => void) {
    this.cy = cytoscape({ container, style: STYLE, elements: [], boxSelectionEnabled: false });
    this.cy.on('tap', (ev) => {
      const t = ev.target as cytoscape.SingularElementArgument | Core;
      onSelect(t === this.cy || (t as cytoscape.NodeSingular).isNode?.() && ['namespace', 'app'].includes((t as cytoscape.NodeSingular).data('kind')) ? undefined : (t as cytoscape.SingularElementArgument).id());
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
          el.data(def.data);
          el.classes(def.classes as string);
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
