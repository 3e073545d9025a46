// `npm run demo -- --duration ...` on its own state dir and address block: exits 0, prints the database's
// istio_tcp_* series, serves productpage with red stars (reviews v3) whose counts are the rows seeded in
// PostgreSQL (ratings v2), and leaves no process behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAlive, readProcessTable } from '../../../src/localrun/processes.js';
import { readPodProcesses } from '../../../src/localrun/pod-processes.js';
import { cliMesh } from '../cli/cli-fixture.js';
import { assertDatabasePage, startDemo, waitForOutput } from './demo-output.js';

/** The Deployments the demo runs, one pod each: Bookinfo, ratings v2 and its database, curl, the waypoint. */
const DEMO_WORKLOADS = ['curl', 'details-v1', 'postgres-v1', 'productpage-v1', 'ratings-v1', 'ratings-v2', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'waypoint'];

/** Long enough to fetch the page a few times while the demo's light traffic runs. */
const DEMO_DURATION = '25s';

test('npm run demo shows the ratings → postgres TCP metrics and a page with stars from the database', { timeout: 400_000 }, async () => {
  const mesh = await cliMesh();
  const recorded: Array<{ pid: number; startTime: string | null }> = [];
  const demo = startDemo(['--duration', DEMO_DURATION, '--port', '0', '--no-prometheus', '--console-port', '0'], mesh);
  const { child, exited } = demo;
  const out = () => demo.output();
  try {
    const [, url] = await waitForOutput(out, /productpage +(http:\/\/127\.0\.0\.1:\d+\/productpage)/, () => child.exitCode !== null, 300_000);
    const meshProcesses = readProcessTable(mesh.stateDir);
    const podProcesses = readPodProcesses(mesh.stateDir);
    for (const r of Object.values(meshProcesses)) recorded.push(r);
    for (const r of Object.values(podProcesses)) recorded.push(r);

    // The demo prints the console's URL, and the console answers there with its graph (no Prometheus: its own scrapes).
    const [, consoleUrl] = await waitForOutput(out, /console +(http:\/\/127\.0\.0\.1:\d+\/)\n/, () => child.exitCode !== null, 30_000);
    const graph = (await (await fetch(`${consoleUrl}api/graph`, { signal: AbortSignal.timeout(10_000) })).json()) as { source: string; prometheus: string | null };
    assert.deepEqual([graph.source, graph.prometheus], ['proxies', null]);

    const res = await fetch(url!, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    const html = await res.text();
    assertDatabasePage(html);

    const code = await exited;
    assert.equal(code, 0, out());
    assert.match(out(), /==> productpage: reviews from reviews-v3-\S+: Reviewer1 2\/5 red, Reviewer2 3\/5 red/);
    for (const reporter of ['source', 'destination']) {
      const line = new RegExp(`^istio_tcp_connections_opened_total\\{reporter="${reporter}", .*destination_service="postgres\\.default\\.svc\\.cluster\\.local", .*\\} [1-9]\\d*$`, 'm');
      assert.match(out(), line);
    }
    assert.match(out(), /^istio_tcp_connections_opened_total\{reporter="destination", source_workload="waypoint", source_version="unknown", destination_workload="postgres-v1", destination_version="v1", destination_service="postgres\.default\.svc\.cluster\.local", connection_security_policy="mutual_tls"\} \d+$/m);
    assert.match(out(), /^istio_tcp_connections_opened_total\{reporter="source", source_workload="ratings-v2", source_version="v2", destination_workload="waypoint", .*\} \d+$/m);
    for (const metric of ['istio_tcp_connections_closed_total', 'istio_tcp_sent_bytes_total', 'istio_tcp_received_bytes_total']) assert.match(out(), new RegExp(`^${metric}\\{reporter="destination", .*destination_workload="postgres-v1"`, 'm'));
    assert.match(out(), new RegExp(`node metrics +http://127\\.${mesh.base}\\.0\\.1:15020/stats/prometheus`));
    assert.match(out(), /==> [1-9]\d* page views with ratings \(0 failed: an error or no ratings\); connections opened to postgres \(reporter=destination\): [1-9]\d*/);
    assert.match(out(), /The mesh is down\./);
    // Every mesh process and one pod process per Deployment were recorded (pod keys end in generated suffixes).
    assert.deepEqual(Object.keys(meshProcesses).sort(), ['control-plane', 'runtime', 'ztunnel-node-1', 'ztunnel-node-2']);
    const podWorkloads = Object.keys(podProcesses).map((k) => DEMO_WORKLOADS.find((w) => k.startsWith(`default/${w}-`)) ?? k);
    assert.deepEqual(podWorkloads.sort(), [...DEMO_WORKLOADS].sort());
    for (const r of recorded) assert.equal(isAlive(r), false, `pid ${r.pid} still alive after the demo`);
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGINT');
      await exited;
    }
    await mesh.run(['down']).catch(() => undefined);
    for (const r of recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    await mesh.cleanup();
  }
});
