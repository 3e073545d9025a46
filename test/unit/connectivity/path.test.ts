// explainPath from fixed mesh views: each kind of failure stops at its hop with its cause, and the
// resource behind a converted policy (PeerAuthentication) is named, not the converted policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationMatch, MeshAuthorization, MeshService, MeshWorkload } from '../../../src/api/mesh.js';
import { explainPath, type MeshView } from '../../../src/connectivity/path.js';

const SVC_KEY = 'default/ratings.default.svc.cluster.local';

function workload(name: string, ip: string, node: string, extra: Partial<MeshWorkload> = {}): MeshWorkload {
  return {
    uid: `Kubernetes//Pod/default/${name}`, name, namespace: 'default', addresses: [ip], hostname: '', network: '', tunnelProtocol: 'HBONE',
    trustDomain: 'cluster.local', serviceAccount: name.split('-')[0]!, node, canonicalName: name, canonicalRevision: 'latest', workloadType: 'POD',
    workloadName: name, services: {}, authorizationPolicies: [], status: 'HEALTHY', clusterId: 'Kubernetes', capacity: 1, labels: {}, ...extra,
  } as MeshWorkload;
}

const ratings = (extra: Partial<MeshWorkload> = {}) => workload('ratings-0', '127.1.0.2', 'node-2', { services: { [SVC_KEY]: [{ servicePort: 9080, targetPort: 9080 }] }, ...extra });
const service: MeshService = { name: 'ratings', namespace: 'default', hostname: 'ratings.default.svc.cluster.local', addresses: ['127.2.0.1'], ports: [{ servicePort: 9080, targetPort: 9080 }] };

function match(m: Partial<AuthorizationMatch>): AuthorizationMatch {
  return { namespaces: [], notNamespaces: [], principals: [], notPrincipals: [], sourceIps: [], notSourceIps: [], destinationIps: [], notDestinationIps: [], destinationPorts: [], notDestinationPorts: [], ...m };
}

function view(workloads: MeshWorkload[], policies: MeshAuthorization[] = [], services: MeshService[] = [service]): MeshView {
  return { workloads, services, policies };
}

const steps = (v: MeshView, target = 'ratings', extra: { port?: number } = {}) => {
  const r = explainPath(v, { sourceUid: 'Kubernetes//Pod/default/curl-0', target, mode: 'local', ...extra });
  return { r, steps: r.hops.map((h) => `${h.step}:${h.verdict}`), last: r.hops[r.hops.length - 1]! };
};

test('a healthy path: every hop, the endpoint chosen and the identity the tunnel checks', () => {
  const { r, steps: s } = steps(view([workload('curl-0', '127.1.0.1', 'node-1'), ratings()]));
  assert.deepEqual(s, ['capture:OK', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:OK', 'policy:OK', 'dial:INFO']);
  assert.deepEqual([r.ok, r.port, r.sourceInMesh, r.endpoint], [true, 9080, true, { workload: 'default/ratings-0', address: '127.1.0.2', port: 9080, node: 'node-2', tunnel: 'HBONE' }]);
  assert.equal(r.hops[4]!.detail, 'HBONE node-1 → node-2, CONNECT 127.1.0.2:9080; peer identity must be spiffe://cluster.local/ns/default/sa/ratings');
});

test('STRICT mTLS refusing a client outside the mesh names the PeerAuthentication', () => {
  const strict: MeshAuthorization = { name: 'converted_peer_authentication_strict', namespace: 'default', scope: 'NAMESPACE', action: 'DENY', rules: [{ clauses: [{ matches: [match({ notPrincipals: [{ presence: true }] })] }] }] };
  const outside = workload('curl-0', '127.1.0.1', 'node-1', { tunnelProtocol: 'NONE' });
  const { r, steps: s, last } = steps(view([outside, ratings()], [strict]));
  assert.deepEqual(s, ['capture:WARN', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:WARN', 'policy:FAIL']);
  // What `l4mesh check` plans its probe by: plaintext from outside the mesh into an HBONE destination's node proxy.
  assert.deepEqual([r.ok, r.sourceInMesh, r.endpoint?.tunnel], [false, false, 'HBONE']);
  assert.equal(last.cause, 'denied by PeerAuthentication default/strict: a plaintext source (no principal) (matched DENY policy default/converted_peer_authentication_strict)');
  assert.equal(last.next, 'l4mesh ztunnel-config policies; l4mesh get peerauthentication strict -n default -o yaml');
});

test('an ALLOW policy nobody matches, an unhealthy endpoint, a missing waypoint and an unknown name', () => {
  const allowOther: MeshAuthorization = { name: 'only-reviews', namespace: 'default', scope: 'NAMESPACE', action: 'ALLOW', rules: [{ clauses: [{ matches: [match({ principals: [{ exact: 'cluster.local/ns/default/sa/reviews' }] })] }] }] };
  const curl = workload('curl-0', '127.1.0.1', 'node-1');
  assert.equal(steps(view([curl, ratings()], [allowOther])).last.cause, 'denied: ALLOW policies apply to the destination and none matched: source principal cluster.local/ns/default/sa/curl (allow policies exist but none matched)');

  const sick = steps(view([curl, ratings({ status: 'UNHEALTHY' })]));
  assert.deepEqual([sick.steps.at(-1), sick.last.cause], ['endpoints:FAIL', 'none of its 1 workload is healthy on port 9080 (1 unhealthy)']);

  const viaWaypoint = { ...service, waypoint: { hostname: { namespace: 'default', hostname: 'waypoint.default.svc.cluster.local' }, hboneMtlsPort: 15008 } };
  const wp = steps(view([curl, ratings()], [], [viaWaypoint]));
  assert.deepEqual([wp.steps.at(-1), wp.last.detail], ['waypoint:FAIL', 'waypoint default/waypoint.default.svc.cluster.local']);

  const unknown = steps(view([curl, ratings()]), 'ratngs');
  assert.deepEqual([unknown.steps, unknown.last.cause], [['capture:OK', 'resolve:FAIL'], 'no service ratngs.default.svc.cluster.local']);
  const badPort = steps(view([curl, ratings()]), 'svc/ratings', { port: 80 });
  assert.equal(badPort.last.cause, 'the service has no port 80 (it has 9080)');
});

test('a denying AuthorizationPolicy is named with the rule that matched; the capture hop says the capture mode', () => {
  const deny: MeshAuthorization = {
    name: 'deny-curl', namespace: 'default', scope: 'NAMESPACE', action: 'DENY',
    rules: [{ clauses: [{ matches: [match({ namespaces: [{ exact: 'other' }] })] }] }, { clauses: [{ matches: [match({ principals: [{ exact: 'cluster.local/ns/default/sa/curl' }] })] }] }],
  };
  const curl = workload('curl-0', '127.1.0.1', 'node-1');
  const { r, last } = steps(view([curl, ratings()], [deny]));
  assert.equal(last.cause, 'denied by AuthorizationPolicy default/deny-curl rule 1: source principal cluster.local/ns/default/sa/curl (matched DENY policy default/deny-curl)');
  assert.equal(r.hops[0]!.detail, "local mode: default/curl-0 (127.1.0.1, node-1): its outbound listener for the target on node-1's node proxy (<SVC>_SERVICE_HOST in its environment)");
  const netns = explainPath(view([curl, ratings()]), { sourceUid: 'Kubernetes//Pod/default/curl-0', target: 'ratings', mode: 'netns' });
  assert.equal(netns.hops[0]!.detail, "netns mode: default/curl-0 (127.1.0.1, node-1): in-pod redirect of outbound TCP to the node proxy's OUTBOUND_CAPTURE_PORT listener");
});
