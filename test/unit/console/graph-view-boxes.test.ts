// The console's graph in Cytoscape (headless under Node): every app box is drawn inside its namespace box and
// every workload inside its app box, on the first refresh and after a workload changes box.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildGraph, type Graph } from '../../../src/console/graph.js';
import { elements, GraphView } from '../../../src/console/web/graph-view.js';

function series(source: string, app: string): string {
  return `source_workload="${source}",source_workload_namespace="default",source_app="${app}",destination_service_name="postgres",destination_service_namespace="default",destination_workload="postgres-v1",destination_workload_namespace="default",destination_app="postgres",reporter="source"`;
}

function graphOf(...sources: Array<[string, string]>): Graph {
  return buildGraph(
    sources.map(([w, app]) => ({ name: 'istio_tcp_received_bytes_total', labels: Object.fromEntries(series(w, app).split(',').map((kv) => kv.split('=').map((x) => x.replace(/"/g, '')) as [string, string])), increase: 10, last: 10 })),
    1,
  );
}

/** Every node's chain of boxes as Cytoscape has it, e.g. `wl:default/ratings-v2 < app:default/ratings < ns:default`. */
function chains(view: GraphView): string[] {
  return view.cy
    .nodes()
    .map((n) => [n.id(), ...n.ancestors().map((a) => a.id())].join(' < '))
    .sort();
}

test('elements() lists boxes before what they contain, whatever the ids say', () => {
  const g = graphOf(['ratings-v2', 'ratings']);
  // By id, app:… sorts before ns:…; Cytoscape drops a parent that does not exist yet.
  assert.deepEqual(
    g.nodes.map((n) => n.id).slice(0, 3),
    ['app:default/postgres', 'app:default/ratings', 'ns:default'],
  );
  assert.deepEqual(
    elements(g).filter((e) => e.group === 'nodes').map((e) => [e.data.id, e.data.parent ?? null]),
    [
      ['ns:default', null],
      ['app:default/postgres', 'ns:default'],
      ['app:default/ratings', 'ns:default'],
      ['svc:default/postgres', 'ns:default'],
      ['wl:default/postgres-v1', 'app:default/postgres'],
      ['wl:default/ratings-v2', 'app:default/ratings'],
    ],
  );
});

test('the drawn graph nests workload < app < namespace, also after a refresh moves a workload to another app', () => {
  const view = new GraphView(undefined as unknown as HTMLElement, () => undefined);
  view.update(graphOf(['ratings-v1', 'ratings'], ['ratings-v2', 'ratings']));
  assert.deepEqual(chains(view), [
    'app:default/postgres < ns:default',
    'app:default/ratings < ns:default',
    'ns:default',
    'svc:default/postgres < ns:default',
    'wl:default/postgres-v1 < app:default/postgres < ns:default',
    'wl:default/ratings-v1 < app:default/ratings < ns:default',
    'wl:default/ratings-v2 < app:default/ratings < ns:default',
  ]);
  // ratings-v2 relabelled app=stars while ratings-v1 keeps the old box: it is moved, not left where it was.
  view.update(graphOf(['ratings-v1', 'ratings'], ['ratings-v2', 'stars']));
  assert.deepEqual(chains(view), [
    'app:default/postgres < ns:default',
    'app:default/ratings < ns:default',
    'app:default/stars < ns:default',
    'ns:default',
    'svc:default/postgres < ns:default',
    'wl:default/postgres-v1 < app:default/postgres < ns:default',
    'wl:default/ratings-v1 < app:default/ratings < ns:default',
    'wl:default/ratings-v2 < app:default/stars < ns:default',
  ]);
});
