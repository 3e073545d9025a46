// Waypoint references: `istio.io/use-waypoint` on a namespace, service or workload, and policies'
// targetRefs, must name a waypoint (a gateway-managed Service with a running Deployment) that exists.
import { LABEL_GATEWAY_MANAGED, LABEL_USE_WAYPOINT, LABEL_USE_WAYPOINT_NAMESPACE, WAYPOINT_NONE, stringMap, type Labels } from '../../api/labels.js';
import type { Resource } from '../../api/types.js';
import { finding, MESSAGES, type Finding } from '../messages.js';
import { asArr, asObj, namespaceOf, ofKind, refOf, selected, type Snapshot } from '../snapshot.js';

/** `ns/name` of every waypoint that is deployed: its Service is gateway-managed and selects a workload. */
function deployedWaypoints(s: Snapshot): Set<string> {
  const out = new Set<string>();
  for (const svc of ofKind(s, 'Service')) {
    if (stringMap(svc.metadata.labels)[LABEL_GATEWAY_MANAGED] === undefined) continue;
    const selector = stringMap(asObj(svc.spec)['selector']);
    if (Object.keys(selector).length > 0 && selected(s, namespaceOf(svc), selector).length > 0) out.add(`${namespaceOf(svc)}/${svc.metadata.name}`);
  }
  return out;
}

/** The labels that carry `istio.io/use-waypoint` for a resource: its own, or a Deployment's pod template. */
function labelsOf(r: Resource): Labels {
  if (r.kind === 'Deployment') return stringMap(asObj(asObj(asObj(r.spec)['template'])['metadata'])['labels']);
  return stringMap(r.metadata.labels);
}

const LABELLED_KINDS = ['Namespace', 'Service', 'ServiceEntry', 'Deployment', 'Pod', 'WorkloadEntry'];

export function analyzeWaypoints(s: Snapshot): Finding[] {
  const out: Finding[] = [];
  const deployed = deployedWaypoints(s);
  const missing = (ns: string, name: string) => !deployed.has(`${ns}/${name}`);
  for (const r of s.resources) {
    if (!LABELLED_KINDS.includes(r.kind)) continue;
    const labels = labelsOf(r);
    const name = labels[LABEL_USE_WAYPOINT];
    if (!name || name === WAYPOINT_NONE) continue;
    const ns = labels[LABEL_USE_WAYPOINT_NAMESPACE] || (r.kind === 'Namespace' ? r.metadata.name : namespaceOf(r));
    if (!missing(ns, name)) continue;
    out.push(
      finding(
        MESSAGES.referencedResourceNotFound,
        refOf(r),
        `Referenced waypoint not found: "${ns}/${name}"; traffic that should go through it fails`,
        `deploy it with "l4mesh waypoint apply -n ${ns} --name ${name}", or remove the ${LABEL_USE_WAYPOINT} label`,
        `${r.kind === 'Deployment' ? 'spec.template.' : ''}metadata.labels`,
      ),
    );
  }
  for (const ap of ofKind(s, 'AuthorizationPolicy')) {
    const spec = asObj(ap.spec);
    const refs = [...(spec['targetRef'] ? [spec['targetRef']] : []), ...asArr(spec['targetRefs'])].map(asObj);
    refs.forEach((ref, i) => {
      const kind = String(ref['kind'] ?? '');
      const name = String(ref['name'] ?? '');
      const ns = namespaceOf(ap);
      const exists = kind === 'Gateway' ? !missing(ns, name) : kind === 'Service' ? s.servicesByHost.has(`${name}.${ns}.svc.cluster.local`) : true;
      if (exists) return;
      out.push(
        finding(
          MESSAGES.referencedResourceNotFound,
          refOf(ap),
          `Referenced ${kind === 'Gateway' ? 'waypoint' : kind} not found: "${ns}/${name}"; the policy is enforced nowhere`,
          kind === 'Gateway' ? `deploy the waypoint with "l4mesh waypoint apply -n ${ns} --name ${name}", or correct the targetRef` : `create Service ${ns}/${name}, or correct the targetRef`,
          spec['targetRef'] ? 'spec.targetRef' : `spec.targetRefs[${i}]`,
        ),
      );
    });
  }
  return out;
}
