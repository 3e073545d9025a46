// `l4mesh check` and `l4mesh analyze` in netns mode: the probe starts inside the source pod's network
// namespace from the pod's IP, so the in-pod rules capture it as they capture the workload's own
// connections (a service VIP and a pod IP alike), and a client outside the mesh is probed as it connects:
// plaintext to the pod IP, redirected to the destination's INBOUND_PORT, refused there under STRICT.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../../src/config/paths.js';
import { netnsSkipReason, uniqueTestPrefix } from '../../support/netns.js';
import { denyPrincipalPolicy, waitForReadyPods, type CliMesh } from '../cli/cli-fixture.js';
import { analyze, apply, checkUntil, hop, PLAIN_CLIENT, steps, type Report } from '../cli/check-fixture.js';
import { downNetnsMesh, upNetnsMesh, type NetnsMesh } from './netns-mesh.js';

const skip = netnsSkipReason({ iptables: true, addon: true });

const MANIFESTS = ['samples/bookinfo/platform/local/bookinfo.yaml', 'samples/curl/curl.yaml'];
/** productpage, details, ratings, reviews v1-v3, curl, legacy. */
const PODS = 8;

const STRICT = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default}\nspec: {mtls: {mode: STRICT}}\n';

const REQUEST = 'GET / HTTP/1.1\r\nhost: productpage.default.svc.cluster.local\r\nuser-agent: l4mesh-check\r\nconnection: close\r\n\r\n';
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const bytesOf = (r: Report) => r.trace!.decisions.filter((d) => d.step === 'bytes').map((d) => [d.proxy, d.direction, d.facts!['received'], d.facts!['sent']]);

describe('l4mesh check in netns mode', { skip, timeout: 300_000 }, () => {
  const prefix = uniqueTestPrefix();
  let netns: NetnsMesh | undefined;
  let mesh: CliMesh;
  let pods: Array<Record<string, string>> = [];
  const pod = (name: string) => pods.find((p) => p['NAME']!.startsWith(name))!;

  before(async () => {
    netns = await upNetnsMesh(prefix);
    mesh = netns.mesh;
    for (const m of MANIFESTS) assert.equal((await mesh.run(['apply', '-f', join(packageRoot(), m)])).code, 0, m);
    await apply(mesh, 'legacy.yaml', PLAIN_CLIENT);
    pods = await waitForReadyPods(mesh, PODS, 150_000);
  });

  after(() => downNetnsMesh(netns));

  it('probes a service from inside the source pod: in-pod redirect, the real endpoint, the same bytes on both proxies', async () => {
    assert.deepEqual(await analyze(mesh), { code: 0, found: [] });
    const { report } = await checkUntil(mesh, 'deploy/curl', 'productpage', (_r, code) => code === 0, 'a healthy check');
    assert.deepEqual(steps(report), ['capture:OK', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:OK', 'policy:OK', 'dial:OK']);
    const [curl, productpage] = [pod('curl-'), pod('productpage-v1-')];
    assert.match(curl['IP']!, /^198\.18\.[12]\.\d+$/);
    assert.deepEqual(report.endpoint, { workload: `default/${productpage['NAME']}`, address: productpage['IP'], port: 9080, node: productpage['NODE'], tunnel: 'HBONE' });
    assert.match(hop(report, 'capture').detail, new RegExp(`^netns mode: default/${escape(curl['NAME']!)} \\(${escape(curl['IP']!)}, ${curl['NODE']}\\): in-pod redirect`));
    // The source proxy's own record: the in-pod listener (loopback inside the curl pod's namespace) it was captured on.
    assert.match(hop(report, 'capture').evidence![0]!, new RegExp(`^${curl['NODE']} outbound: in-pod redirect to 127\\.0\\.0\\.1:15001 on ${curl['NODE']}: source default/${escape(curl['NAME']!)} \\(spiffe://cluster\\.local/ns/default/sa/curl\\)$`));
    const dial = /^sent (\d+) bytes, answered "HTTP\/1\.1 200 OK" \((\d+) bytes\)/.exec(hop(report, 'dial').detail);
    assert.ok(dial, hop(report, 'dial').detail);
    assert.equal(Number(dial[1]), REQUEST.length);
    assert.deepEqual(bytesOf(report), [[curl['NODE'], 'outbound', REQUEST.length, Number(dial[2])], [productpage['NODE'], 'inbound', REQUEST.length, Number(dial[2])]]);
  });

  it('probes a pod IP directly (netns mode captures it, local mode cannot)', async () => {
    const productpage = pod('productpage-v1-');
    const { report, code } = await checkUntil(mesh, 'deploy/curl', `${productpage['IP']}:9080`, (_r, c) => c === 0, 'a pod-IP check');
    assert.equal(code, 0);
    // A pod target has no round robin: no endpoints hop.
    assert.deepEqual(steps(report), ['capture:OK', 'resolve:OK', 'waypoint:INFO', 'tunnel:OK', 'policy:OK', 'dial:OK']);
    assert.match(hop(report, 'dial').detail, /^connected and held \d+ms, 0 bytes received; access log: /);
    assert.deepEqual(hop(report, 'resolve').evidence, [`${pod('curl-')['NODE']} outbound: ${productpage['IP']}:9080 → workload default/${productpage['NAME']} (its pod IP, dialled directly)`]);
    assert.match(hop(report, 'tunnel').evidence![0]!, new RegExp(`^${pod('curl-')['NODE']} outbound: HBONE to ${productpage['NODE']} \\(`));
    assert.deepEqual(bytesOf(report).map((b) => b.slice(0, 2)), [[pod('curl-')['NODE'], 'outbound'], [productpage['NODE'], 'inbound']]);
  });

  it('names the AuthorizationPolicy that denies the source, from the destination proxy\'s decision', async () => {
    await apply(mesh, 'deny.yaml', denyPrincipalPolicy('deny-curl', 'productpage', 'cluster.local/ns/default/sa/curl'));
    const { report, code } = await checkUntil(mesh, 'deploy/curl', 'productpage', (r) => (hop(r, 'policy')?.evidence ?? []).some((e) => e.includes('inbound')), 'the deny policy on the destination proxy');
    assert.deepEqual([code, steps(report)], [1, ['capture:OK', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:OK', 'policy:FAIL']]);
    assert.equal(hop(report, 'policy').cause, 'denied by AuthorizationPolicy default/deny-curl rule 0: source principal cluster.local/ns/default/sa/curl (matched DENY policy default/deny-curl)');
    assert.deepEqual(await analyze(mesh), { code: 0, found: [] });
    await apply(mesh, 'deny.yaml', denyPrincipalPolicy('deny-curl', 'productpage', 'cluster.local/ns/default/sa/curl'), 'delete');
  });

  it('probes a client outside the mesh with plaintext to the pod IP; STRICT refuses it and is named', async () => {
    const [legacy, productpage] = [pod('legacy-'), pod('productpage-v1-')];
    const plain = await checkUntil(mesh, 'deploy/legacy', 'productpage', (_r, c) => c === 0, 'a plaintext check');
    assert.deepEqual(steps(plain.report), ['capture:WARN', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:WARN', 'policy:OK', 'dial:OK']);
    assert.deepEqual([plain.report.sourceInMesh, plain.report.endpoint?.tunnel], [false, 'HBONE']);
    assert.match(hop(plain.report, 'capture').detail, new RegExp(`; probed as it connects: plaintext from its pod IP ${escape(legacy['IP']!)} to ${escape(productpage['IP']!)}:9080, redirected in the destination's pod to ${productpage['NODE']}'s INBOUND_PORT$`));
    const dial = /^sent (\d+) bytes, answered "HTTP\/1\.1 200 OK" \((\d+) bytes\)/.exec(hop(plain.report, 'dial').detail);
    assert.ok(dial, hop(plain.report, 'dial').detail);
    assert.deepEqual(bytesOf(plain.report), [[productpage['NODE'], 'inbound', REQUEST.length, Number(dial[2])]]);
    assert.match(hop(plain.report, 'tunnel').evidence![0]!, new RegExp(`^${productpage['NODE']} inbound: plaintext from ${escape(legacy['IP']!)}:\\d+ \\(default/${escape(legacy['NAME']!)}, outside the mesh\\) for ${escape(productpage['IP']!)}:9080: no mTLS, no peer identity$`));

    await apply(mesh, 'strict.yaml', STRICT);
    const strict = await checkUntil(mesh, 'deploy/legacy', 'productpage', (r) => hop(r, 'policy')?.verdict === 'FAIL' && (hop(r, 'policy').evidence ?? []).length > 0, 'STRICT on the proxies');
    assert.deepEqual([strict.code, steps(strict.report)], [1, ['capture:WARN', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:WARN', 'policy:FAIL']]);
    assert.equal(hop(strict.report, 'policy').cause, 'denied by PeerAuthentication default/default: a plaintext source (no principal) (matched DENY policy default/converted_peer_authentication_default)');
    assert.match(hop(strict.report, 'policy').detail, new RegExp(`; ${productpage['NODE']}'s access log: error="plaintext connection denied by policy default/converted_peer_authentication_default: matched DENY policy default/converted_peer_authentication_default"$`));
    assert.match(hop(strict.report, 'policy').evidence![0]!, new RegExp(`^${productpage['NODE']} inbound: denied by default/converted_peer_authentication_default rule 0 for default/${escape(productpage['NAME']!)}: `));
    assert.deepEqual(await analyze(mesh), { code: 79, found: ['L4M0003 PeerAuthentication default/default'] });
    // The table form exits 1 too, and names the hop and the resource for a reader.
    const table = await mesh.run(['check', 'connectivity', 'deploy/legacy', 'productpage']);
    assert.equal(table.code, 1, table.stderr);
    assert.match(table.stdout, /^POLICY +FAIL +\S+'s node proxy for default\/productpage-v1-\S+: denied by PeerAuthentication default\/default;/m);
    assert.match(table.stdout, /connectivity FAILED\n$/);
    await apply(mesh, 'strict.yaml', STRICT, 'delete');
  });
});
