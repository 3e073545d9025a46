// The waypoint's istio_tcp_* series expire like every other proxy's: once a workload they name has left the
// mesh and the --metrics-expiry-grace has passed with no open connection, they vanish from its /metrics.
// (The waypoint used to build its own telemetry without the Telemetry configuration, so they stayed forever.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/mesh.js';
import { roundTrip } from '../../support/workloads.js';
import { startWaypointMesh, waypointMetrics } from './waypoint-fixture.js';

/** The waypoint's TCP series that name the client pod as their source. */
function clientSeries(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('istio_tcp_') && line.includes('source_workload="client"'))
    .map((line) => `${line.slice(0, line.indexOf('{'))} ${line.slice(line.lastIndexOf(' ') + 1)}`)
    .sort();
}

test('waypoint: series of a deleted pod expire after --metrics-expiry-grace', { timeout: 180_000 }, async () => {
  const wm = await startWaypointMesh({ extraWaypointArgs: ['--metrics-expiry-grace', '1s'] });
  try {
    const request = 'GET / HTTP/1.0\r\nHost: reviews-tcp\r\n\r\n';
    const answer = (await roundTrip(wm.listenTcp.listenAddress, wm.listenTcp.listenPort, request)).toString();
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nreviews-v[123]$/);
    const bytesIn = Buffer.byteLength(request);
    const bytesOut = Buffer.byteLength(answer);
    const series = await eventually(async () => {
      const s = clientSeries(await waypointMetrics(wm));
      return s.some((x) => x.startsWith('istio_tcp_connections_closed_total ')) ? s : undefined;
    }, 15_000, 'the closed connection on the waypoint');
    assert.deepEqual(series, [
      'istio_tcp_connections_closed_total 1',
      'istio_tcp_connections_opened_total 1',
      `istio_tcp_received_bytes_total ${bytesIn}`,
      `istio_tcp_sent_bytes_total ${bytesOut}`,
    ]);

    assert.equal(await wm.mesh.deleteResource('/api/v1/namespaces/default/pods/client'), 200);
    await eventually(async () => clientSeries(await waypointMetrics(wm)).length === 0, 20_000, 'client series gone from the waypoint');
  } finally {
    await wm.stop();
  }
});
