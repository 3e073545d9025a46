// `l4mesh check connectivity`: the path one connection from a workload to a target takes through the mesh,
// hop by hop in the order the bytes travel, worked out from what a node proxy holds (its /config_dump).
import type { MeshAuthorization, MeshService, MeshWorkload } from '../api/mesh.js';
import { CONVERTED_PEER_AUTHENTICATION_PREFIX, STATIC_STRICT_POLICY_NAME } from '../controlplane/registry/peer-authentication.js';
import { authorize } from '../dataplane/rbac.js';
import { ProxyState, type Endpoint } from '../dataplane/state/proxy-state.js';
import type { TraceDecision } from '../dataplane/trace/trace-store.js';
import type { Finding } from '../analysis/messages.js';

export type Verdict = 'OK' | 'FAIL' | 'WARN' | 'INFO';

/** One step of the path; a failed step says the most likely cause and the command that shows more. */
export interface Hop {
  step: 'capture' | 'resolve' | 'endpoints' | 'waypoint' | 'tunnel' | 'policy' | 'dial';
  verdict: Verdict;
  detail: string;
  cause?: string;
  next?: string;
  /** What the proxies recorded for the probe at this hop (`node-2 inbound: allowed by …`). */
  evidence?: string[];
}

export interface PathReport {
  source: string;
  target: string;
  port?: number;
  ok: boolean;
  hops: Hop[];
  /** The service the target resolved to, when it is one (the probe's HTTP request and analyze's findings use it). */
  service?: { name: string; namespace: string; hostname: string };
  /** False when the source is outside the mesh (it meets no proxy of its own); absent when the source is unknown. */
  sourceInMesh?: boolean;
  /** The endpoint the hops after `endpoints` were worked out for, and how the mesh reaches it. */
  endpoint?: { workload: string; address: string; port: number; node: string; tunnel: MeshWorkload['tunnelProtocol'] };
  /** Addresses of the waypoint instances the path goes through (their admin ports hold the probe's trace too). */
  waypointAddresses?: string[];
  /** What `l4mesh analyze` finds wrong in the configuration of this path (also shown as hop evidence). */
  findings?: Finding[];
  /** The probe's trace id and every decision the proxies on the path recorded for it. */
  trace?: { id: string; decisions: TraceDecision[] };
}

/** The mesh as a node proxy holds it: the three lists of its /config_dump. */
export interface MeshView {
  workloads: MeshWorkload[];
  services: MeshService[];
  policies: MeshAuthorization[];
}

export interface PathQuery {
  /** uid of the source workload (`Kubernetes//Pod/default/curl-0`). */
  sourceUid: string;
  /** A service name (short, `name.ns`, FQDN, `svc/NAME`), `pod/NAME`, or `IP[:PORT]`. */
  target: string;
  port?: number;
  /** How the source's connections reach its node proxy: local mode's listeners, netns's in-pod redirect. */
  mode: 'local' | 'netns';
}

function stateOf(view: MeshView): ProxyState {
  const state = new ProxyState();
  state.update({
    workloads: new Map(view.workloads.map((w) => [w.uid, w])),
    services: new Map(view.services.map((s) => [`${s.namespace}/${s.hostname}`, s])),
    authorizations: new Map(view.policies.map((p) => [`${p.namespace}/${p.name}`, p])),
  });
  return state;
}

/** The resource a converted policy came from: PeerAuthentication for the mTLS ones, else the policy itself. */
export function policySource(key: string): string {
  const [ns, name] = key.split('/', 2) as [string, string];
  if (name === STATIC_STRICT_POLICY_NAME) return `PeerAuthentication (mesh-wide STRICT in ${ns})`;
  if (name.startsWith(CONVERTED_PEER_AUTHENTICATION_PREFIX)) return `PeerAuthentication ${ns}/${name.slice(CONVERTED_PEER_AUTHENTICATION_PREFIX.length)}`;
  return `AuthorizationPolicy ${ns}/${name}`;
}

/** `KIND NAME -n NS` for `l4mesh get` of the resource behind a policy key. */
function getArgs(key: string): string {
  const [ns, name] = key.split('/', 2) as [string, string];
  if (name === STATIC_STRICT_POLICY_NAME) return `peerauthentication -n ${ns}`;
  if (name.startsWith(CONVERTED_PEER_AUTHENTICATION_PREFIX)) return `peerauthentication ${name.slice(CONVERTED_PEER_AUTHENTICATION_PREFIX.length)} -n ${ns}`;
  return `authorizationpolicy ${name} -n ${ns}`;
}

type Target = { service: MeshService } | { workload: MeshWorkload; port?: number } | { missing: string };

function resolveTarget(state: ProxyState, source: MeshWorkload, target: string): Target {
  const ipPort = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d+))?$/.exec(target);
  if (ipPort) {
    const service = state.serviceByAddress(ipPort[1]!);
    if (service) return { service };
    const workload = state.workloadByAddress(ipPort[1]!);
    if (workload) return ipPort[2] ? { workload, port: Number(ipPort[2]) } : { workload };
    return { missing: `no service VIP or workload has address ${ipPort[1]}` };
  }
  const slash = target.indexOf('/');
  const kind = slash > 0 ? target.slice(0, slash).toLowerCase() : 'svc';
  const name = slash > 0 ? target.slice(slash + 1) : target;
  if (['po', 'pod', 'pods'].includes(kind)) {
    const [pod, ns = source.namespace] = name.split('.', 2) as [string, string?];
    const workload = state.workloadByUid(`Kubernetes//Pod/${ns}/${pod}`);
    return workload ? { workload } : { missing: `no pod ${ns}/${pod} in the mesh` };
  }
  if (!['svc', 'service', 'services'].includes(kind)) return { missing: `"${target}": give a service (NAME, svc/NAME, NAME.NS, FQDN), pod/NAME or IP[:PORT]` };
  const parts = name.split('.');
  const hostname = parts.length === 1 ? `${name}.${source.namespace}.svc.cluster.local` : parts.length === 2 ? `${parts[0]}.${parts[1]}.svc.cluster.local` : name;
  const service = state.serviceByHostname(hostname);
  return service ? { service } : { missing: `no service ${hostname}` };
}

function describeWorkload(w: MeshWorkload): string {
  return `${w.namespace}/${w.name} (${w.addresses[0] ?? 'no address'}, ${w.node || 'no node'})`;
}

/** Works out the path without sending a byte; `checkConnectivity` adds what a real probe saw. */
export function explainPath(view: MeshView, query: PathQuery): PathReport {
  const state = stateOf(view);
  const hops: Hop[] = [];
  let port = query.port;
  let service: PathReport['service'];
  let sourceInMesh: boolean | undefined;
  const report = (ok: boolean, extra: Partial<PathReport> = {}): PathReport => ({
    source: query.sourceUid, target: query.target, ok, hops, ...(service ? { service } : {}), ...(sourceInMesh === undefined ? {} : { sourceInMesh }), ...extra,
  });
  const fail = (step: Hop['step'], detail: string, cause: string, next: string): PathReport => {
    hops.push({ step, verdict: 'FAIL', detail, cause, next });
    return report(false, port !== undefined ? { port } : {});
  };
  const source = state.workloadByUid(query.sourceUid);
  if (!source) return fail('capture', `source ${query.sourceUid}`, 'the node proxy does not know the source workload (not started yet, or not on a node)', 'l4mesh ztunnel-config workloads');
  const enrolled = source.tunnelProtocol !== 'NONE';
  sourceInMesh = enrolled;
  hops.push({
    step: 'capture',
    verdict: enrolled ? 'OK' : 'WARN',
    detail: !enrolled
      ? `${describeWorkload(source)} is outside the mesh (istio.io/dataplane-mode=none): it connects directly, in plaintext, uncounted`
      : query.mode === 'netns'
        ? `netns mode: ${describeWorkload(source)}: in-pod redirect of outbound TCP to the node proxy's OUTBOUND_CAPTURE_PORT listener`
        : `local mode: ${describeWorkload(source)}: its outbound listener for the target on ${source.node}'s node proxy (<SVC>_SERVICE_HOST in its environment)`,
  });

  const target = resolveTarget(state, source, query.target);
  if ('missing' in target) return fail('resolve', query.target, target.missing, 'l4mesh get svc -A; l4mesh ztunnel-config services');
  let endpoints: readonly Endpoint[];
  let waypointOf: { waypoint?: MeshService['waypoint'] } = {};
  if ('service' in target) {
    const svc = target.service;
    const key = `${svc.namespace}/${svc.hostname}`;
    if (port === undefined) {
      if (svc.ports.length !== 1) return fail('resolve', `service ${key}`, `it has ${svc.ports.length} ports (${svc.ports.map((p) => p.servicePort).join(', ')}): say which with --port`, `l4mesh get svc ${svc.name} -n ${svc.namespace} -o yaml`);
      port = svc.ports[0]!.servicePort;
    } else if (!svc.ports.some((p) => p.servicePort === port)) {
      return fail('resolve', `service ${key} port ${port}`, `the service has no port ${port} (it has ${svc.ports.map((p) => p.servicePort).join(', ') || 'none'})`, `l4mesh get svc ${svc.name} -n ${svc.namespace} -o yaml`);
    }
    hops.push({ step: 'resolve', verdict: 'OK', detail: `${query.target} → service ${key}, VIP ${svc.addresses[0] ?? 'none'}, port ${port}` });
    service = { name: svc.name, namespace: svc.namespace, hostname: svc.hostname };
    endpoints = state.endpointsOf(key, port);
    const counts = state.endpointCounts(key);
    if (endpoints.length === 0) {
      const cause =
        counts.total === 0
          ? `no workload backs ${key}: its selector matches no running pod`
          : `none of its ${counts.total} workload${counts.total === 1 ? '' : 's'} is healthy on port ${port} (${counts.total - counts.healthy} unhealthy)`;
      return fail('endpoints', `service ${key} port ${port}: 0 healthy endpoints`, cause, `l4mesh ztunnel-config services; l4mesh get pods -n ${svc.namespace}; l4mesh analyze -n ${svc.namespace}`);
    }
    const skipped = counts.total - endpoints.length;
    hops.push({
      step: 'endpoints',
      verdict: 'OK',
      detail: `round robin over ${endpoints.length} healthy endpoint${endpoints.length === 1 ? '' : 's'}: ${endpoints.map((e) => `${e.workload.name} ${e.workload.addresses[0]}:${e.targetPort}`).join(', ')}${skipped > 0 ? `; ${skipped} skipped (not healthy)` : ''}`,
    });
    waypointOf = svc;
  } else {
    const w = target.workload;
    port = port ?? target.port;
    if (port === undefined) return fail('resolve', `pod ${w.namespace}/${w.name}`, 'a pod target needs a port: --port P or IP:PORT', 'l4mesh check connectivity FROM pod/NAME --port P');
    hops.push({ step: 'resolve', verdict: 'OK', detail: `${query.target} → workload ${describeWorkload(w)}, port ${port}` });
    if (w.status !== 'HEALTHY') return fail('endpoints', `workload ${w.namespace}/${w.name}`, `it is ${w.status}`, `l4mesh describe pod ${w.name} -n ${w.namespace}`);
    endpoints = [{ workload: w, targetPort: port }];
    waypointOf = w;
  }

  const waypoint = state.waypointFor(waypointOf);
  let waypointAddresses: string[] | undefined;
  if (waypoint) {
    const name = waypoint.gateway.hostname ? `${waypoint.gateway.hostname.namespace}/${waypoint.gateway.hostname.hostname}` : (waypoint.gateway.address?.address ?? '');
    if (waypoint.endpoints.length === 0) return fail('waypoint', `waypoint ${name}`, 'the waypoint it must go through has no healthy instance (traffic is refused, never sent around it)', 'l4mesh get pods -A; l4mesh waypoint apply -n NS');
    hops.push({ step: 'waypoint', verdict: 'OK', detail: `through waypoint ${name} at ${waypoint.endpoints.map((e) => `${e.workload.addresses[0]}:${e.targetPort}`).join(', ')} (L7 routing and policy there)` });
    waypointAddresses = waypoint.endpoints.map((e) => e.workload.addresses[0] ?? '').filter(Boolean);
  } else {
    hops.push({ step: 'waypoint', verdict: 'INFO', detail: 'no waypoint: node proxy to node proxy' });
  }

  // Policy and the dial are decided per endpoint; the first that fails is the one to show.
  const sourceIdentity = enrolled ? state.identityOf(source) : undefined;
  const decisions = endpoints.map((e) => ({
    e,
    d: authorize({ policies: state.policiesFor(e.workload), sourceIdentity, sourceIp: source.addresses[0] ?? '', destinationIp: e.workload.addresses[0] ?? '', destinationPort: e.targetPort }),
  }));
  const chosen = decisions.find((x) => !x.d.allowed) ?? decisions[0]!;
  const dst = chosen.e.workload;
  const endpoint = { workload: `${dst.namespace}/${dst.name}`, address: dst.addresses[0] ?? '', port: chosen.e.targetPort, node: dst.node, tunnel: dst.tunnelProtocol };
  const tunnel =
    dst.tunnelProtocol === 'NONE'
      ? { verdict: 'WARN' as const, detail: `plaintext to ${endpoint.address}:${endpoint.port}: the destination is outside the mesh` }
      : dst.tunnelProtocol === 'LEGACY_ISTIO_MTLS'
        ? { verdict: 'OK' as const, detail: `mTLS with istio-peer-exchange to ${dst.name}'s sidecar; peer identity must be ${state.identityOf(dst)}` }
        : !enrolled
          ? { verdict: 'WARN' as const, detail: `plaintext from outside the mesh into ${dst.node}'s node proxy (INBOUND_PORT)` }
          : { verdict: 'OK' as const, detail: `HBONE ${source.node} → ${dst.node}${source.node === dst.node ? ' (same node)' : ''}, CONNECT ${endpoint.address}:${endpoint.port}; peer identity must be ${state.identityOf(dst)}` };
  hops.push({ step: 'tunnel', ...tunnel });
  const wp = waypointAddresses ? { waypointAddresses } : {};
  // A PeerAuthentication has no rules of its own: the rule index only names an AuthorizationPolicy's.
  const rule = (key: string) => (chosen.d.rule !== undefined && policySource(key).startsWith('AuthorizationPolicy') ? ` rule ${chosen.d.rule}` : '');
  if (!chosen.d.allowed) {
    const by = chosen.d.policy ? `denied by ${policySource(chosen.d.policy)}${rule(chosen.d.policy)}` : 'denied: ALLOW policies apply to the destination and none matched';
    const who = sourceIdentity ? `source principal ${sourceIdentity.replace(/^spiffe:\/\//, '')}` : 'a plaintext source (no principal)';
    const next = chosen.d.policy ? `l4mesh ztunnel-config policies; l4mesh get ${getArgs(chosen.d.policy)} -o yaml` : `l4mesh ztunnel-config policies -n ${dst.namespace}`;
    hops.push({ step: 'policy', verdict: 'FAIL', detail: `${dst.node}'s node proxy for ${endpoint.workload}: ${by}`, cause: `${by}: ${who} (${chosen.d.reason})`, next });
    return report(false, { port, endpoint, ...wp });
  }
  hops.push({ step: 'policy', verdict: 'OK', detail: `${dst.node}'s node proxy for ${endpoint.workload}: allowed (${chosen.d.policy ? `${chosen.d.reason} — ${policySource(chosen.d.policy)}${rule(chosen.d.policy)}` : chosen.d.reason})` });
  hops.push({ step: 'dial', verdict: 'INFO', detail: `${dst.node}'s node proxy dials ${endpoint.address}:${endpoint.port}` });
  return report(true, { port, endpoint, ...wp });
}
