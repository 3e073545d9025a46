// `l4mesh check` and `l4mesh analyze` on a working Bookinfo (two nodes), broken one way at a time and
// repaired before the next: ratings' endpoints deleted, curl denied by an AuthorizationPolicy, STRICT
// refusing a plaintext client (probed from outside the mesh as such a client connects), ratings' server process not running, a VirtualService routing to a subset
// no DestinationRule defines (through a waypoint), the waypoint removed. Each time check names the failing
// hop and the exact resource, and analyze the configuration mistakes with their codes; the healthy path
// reports every hop OK with the real endpoint and the bytes both ends counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import { denyPrincipalPolicy, parseTable, reviewsDestinationRule, reviewsVirtualService, waitForReadyPods, withCliMesh } from './cli-fixture.js';
import { analyze, apply, check, checkUntil, hop, PLAIN_CLIENT, steps } from './check-fixture.js';
import { eventually } from '../../support/mesh.js';

const BOOKINFO = join(packageRoot(), 'samples/bookinfo/platform/local/bookinfo.yaml');
const CURL = join(packageRoot(), 'samples/curl/curl.yaml');

const DENY_CURL = denyPrincipalPolicy('deny-curl', 'productpage', 'cluster.local/ns/default/sa/curl');

const STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default}
spec: {mtls: {mode: STRICT}}
`;

/** ratings-v1 whose server process is not running: the pod is up (it only sleeps), nothing serves 9080. */
const RATINGS_NOT_SERVING = `apiVersion: apps/v1
kind: Deployment
metadata: {name: ratings-v1}
spec:
  selector: {matchLabels: {app: ratings, version: v1}}
  template:
    metadata: {labels: {app: ratings, version: v1}}
    spec:
      serviceAccountName: bookinfo-ratings
      containers: [{name: ratings, image: local/ratings, command: [sleep, "3600"]}]
`;

/** Routes to subset v4 of reviews, which the DestinationRule defines at first. */
const REVIEWS_ROUTES = `${reviewsDestinationRule(['v1', 'v4'])}---\n${reviewsVirtualService('v4')}`;

/** The DestinationRule edited later: subset v4 is gone, the route to it stays (apply checks one apply only). */
const REVIEWS_RULE_WITHOUT_V4 = reviewsDestinationRule(['v1']);

test('check and analyze on Bookinfo broken one way at a time', { timeout: 300_000 }, () =>
  withCliMesh(async (mesh) => {
    for (const file of [CURL, BOOKINFO]) assert.equal((await mesh.run(['apply', '-f', file])).code, 0);
    const pods = await waitForReadyPods(mesh, 7);
    const ip = (prefix: string) => pods.find((p) => p['NAME']!.startsWith(prefix))!['IP']!;
    assert.deepEqual(await analyze(mesh), { code: 0, found: [] });

    // Healthy: every hop OK, the real endpoint, and the bytes of the probe's request and answer as both
    // node proxies counted them under the probe's trace id.
    const healthy = await checkUntil(mesh, 'deploy/curl', 'productpage', (_r, code) => code === 0, 'a healthy check');
    assert.deepEqual(steps(healthy.report), ['capture:OK', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:OK', 'policy:OK', 'dial:OK']);
    assert.equal(healthy.report.endpoint?.address, ip('productpage-v1'));
    assert.match(hop(healthy.report, 'capture').detail, /^local mode: default\/curl-/);
    const dial = /^sent (\d+) bytes, answered "HTTP\/1\.1 200 OK" \((\d+) bytes\)/.exec(hop(healthy.report, 'dial').detail);
    assert.ok(dial, hop(healthy.report, 'dial').detail);
    const [sent, answered] = [Number(dial[1]), Number(dial[2])];
    assert.equal(sent, 'GET / HTTP/1.1\r\nhost: productpage.default.svc.cluster.local\r\nuser-agent: l4mesh-check\r\nconnection: close\r\n\r\n'.length);
    const bytes = healthy.report.trace!.decisions.filter((d) => d.step === 'bytes').map((d) => [d.proxy, d.direction, d.facts!['received'], d.facts!['sent']]);
    assert.deepEqual(bytes, [['node-1', 'outbound', sent, answered], ['node-1', 'inbound', sent, answered]]);
    assert.match(hop(healthy.report, 'endpoints').evidence![0]!, new RegExp(`^node-1 outbound: round robin chose default/productpage-v1-\\S+ ${ip('productpage-v1').replace(/\./g, '\\.')}:9080 of 1 healthy$`));
    assert.match(hop(healthy.report, 'policy').evidence![0]!, /^node-1 inbound: allowed for default\/productpage-v1-\S+: no ALLOW policies apply \(source spiffe:\/\/cluster\.local\/ns\/default\/sa\/curl\)$/);

    // 1. ratings' endpoints deleted: the endpoints hop, and analyze's IST0127 for the Service.
    assert.equal((await mesh.run(['delete', 'deployment', 'ratings-v1'])).code, 0);
    const noRatings = await checkUntil(mesh, 'deploy/reviews-v2', 'ratings', (r) => hop(r, 'endpoints')?.verdict === 'FAIL', 'ratings without endpoints');
    assert.deepEqual([noRatings.code, steps(noRatings.report)], [1, ['capture:OK', 'resolve:OK', 'endpoints:FAIL']]);
    assert.equal(hop(noRatings.report, 'endpoints').cause, 'no workload backs default/ratings.default.svc.cluster.local: its selector matches no running pod');
    assert.deepEqual(noRatings.report.findings?.map((f) => f.code), ['IST0127']);
    assert.deepEqual(await analyze(mesh), { code: 79, found: ['IST0127 Service default/ratings'] });
    assert.equal((await mesh.run(['apply', '-f', BOOKINFO])).code, 0);
    await waitForReadyPods(mesh, 7);

    // 2. curl denied by an AuthorizationPolicy: the policy hop names it and its rule; configuration is valid.
    await apply(mesh, 'deny.yaml', DENY_CURL);
    const denied = await checkUntil(mesh, 'deploy/curl', 'productpage', (r) => (hop(r, 'policy')?.evidence ?? []).some((e) => e.includes('inbound')), 'the deny policy on the destination proxy');
    assert.deepEqual([denied.code, steps(denied.report)], [1, ['capture:OK', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:OK', 'policy:FAIL']]);
    assert.equal(hop(denied.report, 'policy').cause, 'denied by AuthorizationPolicy default/deny-curl rule 0: source principal cluster.local/ns/default/sa/curl (matched DENY policy default/deny-curl)');
    assert.match(hop(denied.report, 'policy').evidence!.find((e) => e.includes('inbound'))!, /^node-1 inbound: denied by default\/deny-curl rule 0 for default\/productpage-v1-\S+: matched DENY policy default\/deny-curl \(source spiffe:\/\/cluster\.local\/ns\/default\/sa\/curl\)$/);
    assert.deepEqual(await analyze(mesh), { code: 0, found: [] });
    await apply(mesh, 'deny.yaml', DENY_CURL, 'delete');

    // 3. A plaintext client outside the mesh is probed as it connects (CONNECT to the destination's node
    // proxy, which traces it by the pod address): allowed at first, then refused under STRICT, which is named.
    await apply(mesh, 'legacy.yaml', PLAIN_CLIENT);
    const legacy = (await waitForReadyPods(mesh, 8)).find((p) => p['NAME']!.startsWith('legacy-'))!;
    const plain = await checkUntil(mesh, 'deploy/legacy', 'productpage', (_r, code) => code === 0, 'a plaintext check');
    assert.deepEqual(steps(plain.report), ['capture:WARN', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:WARN', 'policy:OK', 'dial:OK']);
    assert.match(hop(plain.report, 'capture').detail, new RegExp(`; probed as it connects: plaintext from its pod IP ${legacy['IP']!.replace(/\./g, '\\.')}, CONNECT ${ip('productpage-v1').replace(/\./g, '\\.')}:9080 to node-1's INBOUND_PORT$`));
    const plainBytes = plain.report.trace!.decisions.filter((d) => d.step === 'bytes').map((d) => [d.proxy, d.direction, d.facts!['received'], d.facts!['sent']]);
    const plainDial = /^sent (\d+) bytes, answered "HTTP\/1\.1 200 OK" \((\d+) bytes\)/.exec(hop(plain.report, 'dial').detail);
    assert.ok(plainDial, hop(plain.report, 'dial').detail);
    assert.deepEqual(plainBytes, [['node-1', 'inbound', Number(plainDial[1]), Number(plainDial[2])]]);
    assert.equal(Number(plainDial[1]), sent);
    assert.match(hop(plain.report, 'tunnel').evidence![0]!, new RegExp(`^node-1 inbound: plaintext from ${legacy['IP']!.replace(/\./g, '\\.')}:\\d+ \\(default/${legacy['NAME']}, outside the mesh\\) for ${ip('productpage-v1').replace(/\./g, '\\.')}:9080: no mTLS, no peer identity$`));
    await apply(mesh, 'strict.yaml', STRICT);
    const strict = await checkUntil(mesh, 'deploy/legacy', 'productpage', (r) => hop(r, 'policy')?.verdict === 'FAIL' && (hop(r, 'policy').evidence ?? []).length > 0, 'STRICT on the proxies');
    assert.deepEqual([strict.code, steps(strict.report)], [1, ['capture:WARN', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:WARN', 'policy:FAIL']]);
    assert.equal(hop(strict.report, 'policy').cause, 'denied by PeerAuthentication default/default: a plaintext source (no principal) (matched DENY policy default/converted_peer_authentication_default)');
    assert.equal(hop(strict.report, 'policy').next, 'l4mesh ztunnel-config policies; l4mesh get peerauthentication default -n default -o yaml');
    // The destination proxy's own word: its access log and its trace of the probe, and its 401 to the CONNECT.
    assert.match(hop(strict.report, 'policy').detail, /; node-1's access log: error="plaintext connection denied by policy default\/converted_peer_authentication_default: matched DENY policy default\/converted_peer_authentication_default" \(the node proxy answered its CONNECT "HTTP\/1\.1 401 Unauthorized"\)$/);
    assert.match(hop(strict.report, 'policy').evidence![0]!, /^node-1 inbound: denied by default\/converted_peer_authentication_default rule 0 for default\/productpage-v1-\S+: matched DENY policy default\/converted_peer_authentication_default \(source plaintext, no principal\)$/);
    assert.deepEqual(await analyze(mesh), { code: 79, found: ['L4M0003 PeerAuthentication default/default'] });
    await apply(mesh, 'strict.yaml', STRICT, 'delete');
    await apply(mesh, 'legacy.yaml', PLAIN_CLIENT, 'delete');

    // 4. ratings' server process not running: the destination proxy's dial is refused.
    const ratingsPods = async () =>
      parseTable((await mesh.run(['get', 'pods', '-o', 'wide'])).stdout, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']).filter((p) => p['NAME']!.startsWith('ratings-v1-'));
    const before = (await ratingsPods()).map((p) => p['NAME']);
    await apply(mesh, 'ratings-down.yaml', RATINGS_NOT_SERVING);
    // The Deployment is replaced: until the old pod is gone, a check may still reach it while it stops (and
    // report a reset, or the old pod's address), so wait for the new pod alone and for a report that names it.
    const now = await eventually(async () => {
      const pods = await ratingsPods();
      return pods.length === 1 && !before.includes(pods[0]!['NAME']) ? pods[0]! : undefined;
    }, 60_000, 'the new ratings-v1 pod alone');
    const down = await checkUntil(
      mesh,
      'deploy/reviews-v2',
      'ratings',
      (r) => hop(r, 'dial')?.verdict === 'FAIL' && r.endpoint?.address === now['IP'] && (r.hops.at(-1)!.evidence ?? []).some((e) => e.includes('inbound')),
      'the refused dial at the new ratings-v1 pod',
    );
    assert.deepEqual([down.code, steps(down.report)], [1, ['capture:OK', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:OK', 'policy:OK', 'dial:FAIL']]);
    assert.equal(hop(down.report, 'dial').cause, "nothing listens on the workload's port: the process is down or listens on another port", (hop(down.report, 'dial').evidence ?? []).join('\n'));
    const refused = hop(down.report, 'dial').evidence!.find((e) => / inbound: /.test(e))!;
    assert.deepEqual([down.report.endpoint?.address, down.report.endpoint?.node], [now['IP'], now['NODE']]);
    assert.equal(refused, `${now['NODE']} inbound: cannot connect to default/${now['NAME']} at ${now['IP']}:9080: cannot connect to ${now['IP']}:9080: ECONNREFUSED — is the workload listening on that port?`);
    assert.equal((await mesh.run(['apply', '-f', BOOKINFO])).code, 0);

    // 5. Through a waypoint, a VirtualService routing to a subset no DestinationRule defines.
    const wp = await mesh.run(['waypoint', 'apply', '-n', 'default']);
    assert.equal(wp.code, 0, wp.stderr);
    await apply(mesh, 'routes.yaml', REVIEWS_ROUTES);
    await apply(mesh, 'rule.yaml', REVIEWS_RULE_WITHOUT_V4);
    await waitForReadyPods(mesh, 8);
    // Wait for this cause, not for any FAIL: right after the pods were replaced and the waypoint started, its
    // hop can fail for a moment with "no healthy endpoint when the connection arrived" (seen once in CI).
    const subsetCause = 'a VirtualService routes to a subset no DestinationRule defines: every request routed there is answered 503 (l4mesh analyze reports it as IST0101)';
    const subset = await checkUntil(mesh, 'deploy/productpage-v1', 'reviews', (r) => hop(r, 'waypoint')?.cause === subsetCause, 'the route through the waypoint');
    assert.equal(subset.code, 1);
    assert.equal(hop(subset.report, 'waypoint').verdict, 'FAIL');
    assert.equal(hop(subset.report, 'waypoint').cause, subsetCause);
    assert.ok(hop(subset.report, 'waypoint').evidence!.some((e) => /^waypoint default\/waypoint waypoint: GET \/ → route \S+: subset v4 of reviews\.default\.svc\.cluster\.local is not defined by any DestinationRule; answered 503$/.test(e)), hop(subset.report, 'waypoint').evidence!.join('\n'));
    assert.ok(hop(subset.report, 'waypoint').evidence!.some((e) => e.startsWith('analyze: IST0101 Error VirtualService default/reviews: ')));
    assert.deepEqual(await analyze(mesh), { code: 79, found: ['IST0101 VirtualService default/reviews'] });
    // --dry-run sends nothing: the route to the missing subset is known from configuration alone.
    const dry = await check(mesh, 'deploy/productpage-v1', 'reviews', ['--dry-run']);
    assert.deepEqual([dry.code, steps(dry.report), dry.report.trace], [1, ['capture:OK', 'resolve:OK', 'endpoints:OK', 'waypoint:FAIL', 'tunnel:OK', 'policy:OK', 'dial:INFO'], undefined]);
    assert.match(hop(dry.report, 'waypoint').cause!, /^IST0101 on VirtualService default\/reviews: /);
    assert.equal(hop(dry.report, 'waypoint').next, 'l4mesh analyze -n default');
    await apply(mesh, 'routes.yaml', REVIEWS_ROUTES, 'delete');
    assert.deepEqual(await analyze(mesh), { code: 0, found: [] });

    // 6. The waypoint removed while the namespace still uses it.
    assert.equal((await mesh.run(['delete', 'deployment', 'waypoint'])).code, 0);
    const gone = await checkUntil(mesh, 'deploy/productpage-v1', 'reviews', (r) => hop(r, 'waypoint')?.verdict === 'FAIL', 'the waypoint gone from the proxies');
    assert.deepEqual([gone.code, steps(gone.report)], [1, ['capture:OK', 'resolve:OK', 'endpoints:OK', 'waypoint:FAIL']]);
    assert.equal(hop(gone.report, 'waypoint').detail, 'waypoint default/waypoint.default.svc.cluster.local; node-1\'s access log: error="no healthy waypoint for service reviews.default.svc.cluster.local (waypoint waypoint.default.svc.cluster.local)"');
    assert.equal(hop(gone.report, 'waypoint').cause, 'the waypoint it must go through has no healthy instance (traffic is refused, never sent around it)');
    assert.deepEqual(await analyze(mesh), { code: 79, found: ['IST0101 Namespace /default', 'IST0127 Service default/waypoint'] });
  }));
