// `npm run demo -- --mode netns` (root): Bookinfo with pods as network namespaces, a waypoint that reaches
// the control plane from its pod, and a product-page URL on the host's loopback that a browser opens
// (forwarded into the curl pod's namespace, where the pod's own rules capture it). Ctrl-C stops it — also
// while the mesh is still coming up — and the host is left as it was: `ip netns list`, `ip -o link`,
// /etc/netns and iptables-save compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { isAlive, readProcessTable } from '../../../src/localrun/processes.js';
import { readPodProcesses } from '../../../src/localrun/pod-processes.js';
import { hostNetworkSnapshot, ip, netnsSkipReason, uniqueTestPrefix } from '../../support/netns.js';
import { eventually } from '../../support/mesh.js';
import { cliMesh } from '../cli/cli-fixture.js';
import { assertDatabasePage, startDemo, waitForOutput } from './demo-output.js';

const skip = netnsSkipReason({ iptables: true, addon: true, commands: ['setpriv'] });

/** The Deployments the demo runs, one pod each: Bookinfo, ratings v2 and its database, curl, the waypoint. */
const DEMO_WORKLOADS = ['curl', 'details-v1', 'postgres-v1', 'productpage-v1', 'ratings-v1', 'ratings-v2', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'waypoint'];
/** Namespaces up to the printed URL, PGlite and eleven Node processes on two busy cores. */
const URL_TIMEOUT_MS = 300_000;
/** After Ctrl-C: the pods' grace, four mesh processes stopped and every namespace removed. */
const STOP_TIMEOUT_MS = 90_000;

/** `p`, or 'timeout' after `ms`; the timer does not outlive the race. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function meshNamespaces(prefix: string): string[] {
  return ip('netns', 'list').split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`${prefix}-`));
}

test('npm run demo -- --mode netns serves the product page on the host, with stars from the database, and Ctrl-C leaves nothing', { skip, timeout: 480_000 }, async () => {
  const mesh = await cliMesh();
  const prefix = uniqueTestPrefix();
  const before = hostNetworkSnapshot(prefix);
  const recorded: Array<{ pid: number; startTime: string | null }> = [];
  const demo = startDemo(['--mode', 'netns', '--netns-prefix', prefix, '--port', '0', '--no-prometheus', '--console-port', '0'], mesh);
  const { child, exited } = demo;
  const out = () => demo.output();
  try {
    const [, url] = await waitForOutput(out, /productpage +(http:\/\/127\.0\.0\.1:\d+\/productpage)/, () => child.exitCode !== null, URL_TIMEOUT_MS);
    for (const r of Object.values(readProcessTable(mesh.stateDir))) recorded.push(r);
    const podProcesses = readPodProcesses(mesh.stateDir);
    for (const r of Object.values(podProcesses)) recorded.push(r);
    const podWorkloads = Object.keys(podProcesses).map((k) => DEMO_WORKLOADS.find((w) => k.startsWith(`default/${w}-`)) ?? k);
    assert.deepEqual(podWorkloads.sort(), [...DEMO_WORKLOADS].sort());
    // Every pod, the waypoint's too, runs in a namespace of this mesh.
    assert.deepEqual(meshNamespaces(prefix).filter((n) => !/-(fabric|node-\d)$/.test(n)).length, DEMO_WORKLOADS.length);

    // From the host, as a browser would: the page through the waypoint (reviews v3, red stars) with the database's ratings.
    const res = await fetch(url!, { signal: AbortSignal.timeout(20_000) });
    assert.equal(res.status, 200);
    const html = await res.text();
    assertDatabasePage(html);

    assert.match(out(), /==> productpage: reviews from reviews-v3-\S+: Reviewer1 2\/5 red, Reviewer2 3\/5 red/);
    // Both hops of ratings-v2 → postgres go through the waypoint, which got its certificate and routes in its pod.
    assert.match(out(), /^istio_tcp_connections_opened_total\{reporter="source", source_workload="ratings-v2", source_version="v2", destination_workload="waypoint", destination_version="unknown", destination_service="postgres\.default\.svc\.cluster\.local", connection_security_policy="unknown"\} [1-9]\d*$/m);
    assert.match(out(), /^istio_tcp_connections_opened_total\{reporter="destination", source_workload="waypoint", source_version="unknown", destination_workload="postgres-v1", destination_version="v1", destination_service="postgres\.default\.svc\.cluster\.local", connection_security_policy="mutual_tls"\} [1-9]\d*$/m);
    assert.match(out(), new RegExp(`node metrics +http://127\\.${mesh.base}\\.0\\.1:15020/stats/prometheus`));
    assert.match(out(), /from a workload +l4mesh exec deploy\/curl -- curl -s http:\/\/productpage:9080\/productpage/);
    assert.match(out(), new RegExp(`pods +198\\.18\\.1\\.2-198\\.18\\.1\\.254, 198\\.18\\.2\\.2-198\\.18\\.2\\.254; service VIPs 198\\.19\\.0\\.0/16`));

    // Ctrl-C: the demo stops its traffic and runs `l4mesh down`.
    await waitForOutput(out, /press Ctrl-C to stop/, () => child.exitCode !== null, 60_000);
    child.kill('SIGINT');
    const code = await within(exited, STOP_TIMEOUT_MS);
    assert.equal(code, 0, out());
    assert.match(out(), /==> [1-9]\d* page views with ratings \(0 failed: an error or no ratings\)/);
    assert.match(out(), new RegExp(`removed the network namespaces ${prefix}-\\*`));
    assert.match(out(), /The mesh is down\./);
    for (const r of recorded) assert.equal(isAlive(r), false, `pid ${r.pid} still alive after the demo`);
    assert.deepEqual(meshNamespaces(prefix), []);
    assert.deepEqual(hostNetworkSnapshot(prefix), before);
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGINT');
      await within(exited, STOP_TIMEOUT_MS);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await mesh.run(['down'], STOP_TIMEOUT_MS).catch(() => undefined);
    for (const r of recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    for (const n of meshNamespaces(prefix)) spawnSync('ip', ['netns', 'del', n]);
    await mesh.cleanup();
  }
});

test('Ctrl-C while `l4mesh up --mode netns` builds the namespaces: the demo runs l4mesh down and exits 130, nothing left', { skip, timeout: 300_000 }, async () => {
  const mesh = await cliMesh();
  const prefix = uniqueTestPrefix();
  const before = hostNetworkSnapshot(prefix);
  const demo = startDemo(['--mode', 'netns', '--netns-prefix', prefix, '--port', '0', '--no-prometheus', '--console-port', '0'], mesh);
  try {
    // The fabric exists: `up` is building the mesh's network (nodes, then the mesh's processes).
    await eventually(async () => demo.child.exitCode !== null || meshNamespaces(prefix).includes(`${prefix}-fabric`), URL_TIMEOUT_MS, 'the fabric namespace');
    demo.child.kill('SIGINT');
    const code = await within(demo.exited, STOP_TIMEOUT_MS);
    assert.equal(code, 130, demo.output());
    // Whatever `up` had started is stopped (nothing yet, when it was still making namespaces), and every namespace removed.
    assert.match(demo.output(), new RegExp(`==> l4mesh down\\n[\\s\\S]*removed the network namespaces ${prefix}-\\*\\n`));
    assert.deepEqual(meshNamespaces(prefix), []);
    for (const r of Object.values(readProcessTable(mesh.stateDir))) assert.equal(isAlive(r), false, `pid ${r.pid} still alive`);
    assert.deepEqual(hostNetworkSnapshot(prefix), before);
  } finally {
    if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    await mesh.run(['down'], STOP_TIMEOUT_MS).catch(() => undefined);
    for (const n of meshNamespaces(prefix)) spawnSync('ip', ['netns', 'del', n]);
    await mesh.cleanup();
  }
});
