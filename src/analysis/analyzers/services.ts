// Service checks: a selector no workload matches, no selector at all, and port names that leave the
// protocol to guessing (Istio's `<protocol>[-<suffix>]` convention).
import { LABEL_GATEWAY_MANAGED, stringMap } from '../../api/labels.js';
import { finding, MESSAGES, type Finding } from '../messages.js';
import { asArr, asObj, formatLabels, namespaceOf, ofKind, refOf, selected, type Snapshot } from '../snapshot.js';

/** Protocols Istio recognises as a port-name prefix (istio/istio pkg/config/protocol). */
const NAMED_PROTOCOLS = ['grpc', 'grpc-web', 'http', 'http2', 'https', 'mongo', 'mysql', 'redis', 'tcp', 'tls', 'udp'];

function followsConvention(name: string): boolean {
  const lower = name.toLowerCase();
  return NAMED_PROTOCOLS.some((p) => lower === p || lower.startsWith(`${p}-`));
}

export function analyzeServices(s: Snapshot): Finding[] {
  const out: Finding[] = [];
  for (const svc of ofKind(s, 'Service')) {
    const spec = asObj(svc.spec);
    const selector = stringMap(spec['selector']);
    if (Object.keys(selector).length === 0) {
      out.push(
        finding(
          MESSAGES.serviceWithoutSelector,
          refOf(svc),
          'The Service has no selector, so no workload is ever one of its endpoints and connections to it fail',
          'add spec.selector with the labels of the pods that serve it',
          'spec.selector',
        ),
      );
    } else if (selected(s, namespaceOf(svc), selector).length === 0) {
      out.push(
        finding(
          MESSAGES.noMatchingWorkloads,
          refOf(svc),
          `No matching workloads for this resource with the following labels: ${formatLabels(selector)}`,
          `deploy a workload labelled ${formatLabels(selector)} in namespace ${namespaceOf(svc)}, or correct spec.selector`,
          'spec.selector',
        ),
      );
    }
    // A waypoint's Service (gateway-managed) carries HBONE on its port, never an application protocol.
    if (stringMap(svc.metadata.labels)[LABEL_GATEWAY_MANAGED] !== undefined) continue;
    asArr(spec['ports']).forEach((raw, i) => {
      const p = asObj(raw);
      if (typeof p['appProtocol'] === 'string' && p['appProtocol'] !== '') return;
      const name = typeof p['name'] === 'string' ? p['name'] : '';
      if (followsConvention(name)) return;
      const target = p['targetPort'] === undefined ? String(p['port']) : String(p['targetPort']);
      out.push(
        finding(
          MESSAGES.portNameNotUnderNamingConvention,
          refOf(svc),
          `Port name ${name || '(unnamed)'} (port: ${String(p['port'])}, targetPort: ${target}) doesn't follow the naming convention of Istio port: its traffic is treated as plain TCP`,
          `name it <protocol>[-<suffix>] (http-web, tcp-postgres …) or set appProtocol`,
          `spec.ports[${i}].name`,
        ),
      );
    });
  }
  return out;
}
