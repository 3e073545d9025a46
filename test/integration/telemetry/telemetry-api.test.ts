// The Telemetry API applied by running node proxies (no restart): a mesh-wide reportingInterval of 1 s
// overrides the proxy default (1 h here, so nothing else can report an open connection), tagOverrides REMOVE and UPSERT (literal) shape the series, a disabled
// metric is absent; deleting the Telemetry restores the defaults for new connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { TCP_LABEL_NAMES } from '../../../src/dataplane/telemetry/labels.js';
import { eventually } from '../../support/mesh.js';
import { labelsOf, select, total } from '../../support/prometheus-text.js';
import { exchange, scrape, sizedRequest, startEchoMesh } from './telemetry-mesh.js';

const TELEMETRY = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: mesh-default
  namespace: istio-system
spec:
  metrics:
  - providers:
    - name: prometheus
    reportingInterval: 1s
    overrides:
    - match:
        metric: ALL_METRICS
        mode: CLIENT_AND_SERVER
      tagOverrides:
        source_app:
          operation: REMOVE
        destination_cluster:
          operation: UPSERT
          value: east
        team:
          value: blue
    - match:
        metric: TCP_CLOSED_CONNECTIONS
      disabled: true
`;
const TELEMETRY_PATH = '/apis/telemetry.istio.io/v1/namespaces/istio-system/telemetries/mesh-default';

test('Telemetry API without restart: 1 s interval, REMOVE/UPSERT tags, disabled metric; deletion restores defaults', { timeout: 150_000 }, async () => {
  const env = await startEchoMesh({ reportingDuration: '1h' });
  let socket: Socket | undefined;
  try {
    const { mesh, listen } = env;
    await mesh.apply(TELEMETRY);
    // New connections pick the policy up once both proxies have the Telemetry.
    let n = 0;
    await eventually(async () => {
      n++;
      await exchange(listen.listenAddress, listen.listenPort, sizedRequest(100, 10));
      const src = select(await scrape(mesh, 1), 'istio_tcp_connections_opened_total', { reporter: 'source', team: 'blue' });
      const dst = select(await scrape(mesh, 2), 'istio_tcp_connections_opened_total', { reporter: 'destination', team: 'blue' });
      return src.length === 1 && dst.length === 1;
    }, 15_000, 'the Telemetry on both proxies');
    // Every one of the n connections is counted once on each side: in the policy's series or, before the
    // Telemetry reached that proxy, in the default one.
    for (const [node, reporter] of [[1, 'source'], [2, 'destination']] as const) {
      assert.equal(total(await scrape(mesh, node), 'istio_tcp_connections_opened_total', { reporter }), n, `connections opened on node-${node}`);
    }

    for (const [node, reporter] of [[1, 'source'], [2, 'destination']] as const) {
      const samples = await scrape(mesh, node);
      const [opened] = select(samples, 'istio_tcp_connections_opened_total', { reporter, team: 'blue' });
      const names = opened!.labels.map(([k]) => k);
      // REMOVE drops the label, UPSERT of an existing label keeps its place, a new label is appended.
      assert.deepEqual(names, [...TCP_LABEL_NAMES.filter((l) => l !== 'source_app'), 'team'], `label order on node-${node}`);
      assert.equal(labelsOf(opened!)['destination_cluster'], 'east');
      assert.equal(select(samples, 'istio_tcp_connections_closed_total', { team: 'blue' }).length, 0, `closed is disabled on node-${node}`);
      // Each policy connection moved exactly 100 bytes client → server.
      assert.equal(select(samples, 'istio_tcp_received_bytes_total', { reporter, team: 'blue' })[0]?.value, 100 * opened!.value, 'bytes of the policy connections');
    }

    // reportingInterval 1s: an open connection's bytes show up while it is open. With the proxy default
    // of 1 h only the Telemetry's interval can have flushed them, so the wait can be generous.
    socket = connect({ host: listen.listenAddress, port: listen.listenPort, allowHalfOpen: true });
    socket.on('error', () => {});
    await new Promise<void>((r) => socket!.once('connect', () => r()));
    const before = total(await scrape(mesh, 1), 'istio_tcp_received_bytes_total', { reporter: 'source', team: 'blue' });
    socket.write(sizedRequest(5000, 1));
    await eventually(async () => total(await scrape(mesh, 1), 'istio_tcp_received_bytes_total', { reporter: 'source', team: 'blue' }) === before + 5000, 30_000, 'bytes of an open connection, flushed by the 1 s interval');
    socket.destroy();

    // Delete: new connections get the standard labels and the closed metric again.
    assert.equal(await mesh.deleteResource(TELEMETRY_PATH), 200);
    await eventually(async () => {
      await exchange(listen.listenAddress, listen.listenPort, sizedRequest(50, 5));
      const s = await scrape(mesh, 1);
      return select(s, 'istio_tcp_connections_closed_total', { reporter: 'source' }).length === 1;
    }, 15_000, 'defaults back after the delete');
    for (const [node, reporter] of [[1, 'source'], [2, 'destination']] as const) {
      const s = await eventually(async () => {
        const x = await scrape(mesh, node);
        return select(x, 'istio_tcp_connections_closed_total', { reporter }).length === 1 ? x : undefined;
      }, 5000, `closed series on node-${node}`);
      const [closed] = select(s, 'istio_tcp_connections_closed_total', { reporter });
      assert.deepEqual(closed!.labels.map(([k]) => k), [...TCP_LABEL_NAMES]);
      assert.equal(labelsOf(closed!)['source_app'], 'sleep');
      assert.equal(labelsOf(closed!)['destination_cluster'], 'Kubernetes');
    }
  } finally {
    socket?.destroy();
    await env.stop();
  }
});
