// VirtualService and DestinationRule checks: routes to hosts and subsets that do not exist, subsets that
// select no pod, and HTTP routes on a service whose ports carry plain TCP (the waypoint never sees HTTP).
import { fqdn, subsetsByHost } from '../../api/cross-check.js';
import { appProtocolOf } from '../../controlplane/registry/ports.js';
import { stringMap } from '../../api/labels.js';
import { finding, MESSAGES, type Finding } from '../messages.js';
import { asArr, asObj, formatLabels, namespaceOf, ofKind, refOf, selected, type Snapshot } from '../snapshot.js';

const ROUTE_KINDS = ['http', 'tcp', 'tls'] as const;

function virtualServices(s: Snapshot): Finding[] {
  const out: Finding[] = [];
  const subsets = subsetsByHost(ofKind(s, 'DestinationRule'));
  for (const vs of ofKind(s, 'VirtualService')) {
    const ns = namespaceOf(vs);
    const spec = asObj(vs.spec);
    for (const kind of ROUTE_KINDS) {
      asArr(spec[kind]).forEach((route, i) => {
        asArr(asObj(route)['route']).forEach((d, j) => {
          const dest = asObj(asObj(d)['destination']);
          const host = fqdn(String(dest['host'] ?? ''), ns);
          const at = `spec.${kind}[${i}].route[${j}].destination`;
          if (!s.servicesByHost.has(host) && !s.serviceEntryHosts.has(host)) {
            out.push(
              finding(
                MESSAGES.referencedResourceNotFound,
                refOf(vs),
                `Referenced host not found: "${host}"`,
                `create a Service or ServiceEntry for ${host}, or correct ${at}.host`,
                `${at}.host`,
              ),
            );
            return;
          }
          const subset = dest['subset'];
          if (typeof subset !== 'string' || subset === '' || subsets.get(host)?.has(subset)) return;
          const defined = [...(subsets.get(host) ?? [])].sort();
          out.push(
            finding(
              MESSAGES.referencedResourceNotFound,
              refOf(vs),
              `Referenced host+subset in destinationrule not found: "${host}+${subset}"`,
              defined.length > 0
                ? `add subset ${subset} to the DestinationRule for ${host} (it defines ${defined.join(', ')}), or route to one of those`
                : `apply a DestinationRule for host ${host} that defines subset ${subset}`,
              `${at}.subset`,
            ),
          );
        });
      });
    }
  }
  return out;
}

function destinationRuleSubsets(s: Snapshot): Finding[] {
  const out: Finding[] = [];
  for (const dr of ofKind(s, 'DestinationRule')) {
    const spec = asObj(dr.spec);
    const host = fqdn(String(spec['host'] ?? ''), namespaceOf(dr));
    const svc = s.servicesByHost.get(host);
    const selector = svc ? stringMap(asObj(svc.spec)['selector']) : undefined;
    // Only a Service with a selector says which pods are its endpoints; ServiceEntry hosts are not checked.
    if (!svc || !selector || Object.keys(selector).length === 0) continue;
    asArr(spec['subsets']).forEach((raw, i) => {
      const subset = asObj(raw);
      const labels = { ...selector, ...stringMap(subset['labels']) };
      if (selected(s, namespaceOf(svc), labels).length > 0) return;
      const name = String(subset['name'] ?? '');
      out.push(
        finding(
          MESSAGES.subsetSelectsNoPods,
          refOf(dr),
          `Subset "${name}" selects no pod of service ${host}: no workload in namespace ${namespaceOf(svc)} has the labels ${formatLabels(labels)}`,
          `deploy a workload with those labels, or correct spec.subsets[${i}].labels (traffic routed to this subset fails)`,
          `spec.subsets[${i}].labels`,
        ),
      );
    });
  }
  return out;
}

/** A VirtualService's http routes only apply where a waypoint parses HTTP, i.e. on ports declared HTTP. */
function httpRoutesOnTcp(s: Snapshot): Finding[] {
  const out: Finding[] = [];
  for (const vs of ofKind(s, 'VirtualService')) {
    const spec = asObj(vs.spec);
    if (asArr(spec['http']).length === 0) continue;
    for (const h of asArr(spec['hosts'])) {
      if (typeof h !== 'string') continue;
      const svc = s.servicesByHost.get(fqdn(h, namespaceOf(vs)));
      if (!svc) continue;
      const ports = asArr(asObj(svc.spec)['ports']).map(asObj);
      if (ports.length === 0 || ports.some((p) => appProtocolOf(p['appProtocol'] as string | undefined, p['name'] as string | undefined))) continue;
      const names = ports.map((p) => `${typeof p['name'] === 'string' ? p['name'] : '(unnamed)'}/${String(p['port'])}`).join(', ');
      out.push(
        finding(
          MESSAGES.httpRoutesOnTcpPort,
          refOf(vs),
          `The http routes for ${h} never apply: every port of Service ${namespaceOf(svc)}/${svc.metadata.name} (${names}) carries plain TCP`,
          `name the service port http or http-<suffix> (or set appProtocol: http), or write the routes under spec.tcp`,
          'spec.http',
        ),
      );
    }
  }
  return out;
}

export function analyzeRouting(s: Snapshot): Finding[] {
  return [...virtualServices(s), ...destinationRuleSubsets(s), ...httpRoutesOnTcp(s)];
}
