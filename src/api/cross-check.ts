// Checks that need more than one resource: a VirtualService route naming a subset must find that subset
// in a DestinationRule for the same host, among the rules stored plus those applied with it.
import { InvalidResourceError } from '../errors/index.js';
import { CLUSTER_DOMAIN } from '../config/mesh-constants.js';
import { keyOf, keyString, type Resource } from './types.js';

/** Istio's short-name rule: `reviews` in namespace `ns` is `reviews.ns.svc.<cluster domain>`. */
export function fqdn(host: string, namespace: string): string {
  return host.includes('.') || host.includes('*') ? host : `${host}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Host FQDN → subset names defined for it by any DestinationRule. */
export function subsetsByHost(rules: Resource[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const dr of rules) {
    const spec = asObj(dr.spec);
    const host = fqdn(String(spec['host'] ?? ''), dr.metadata.namespace ?? 'default');
    let names = out.get(host);
    if (!names) out.set(host, (names = new Set()));
    for (const s of asArr(spec['subsets'])) names.add(String(asObj(s)['name'] ?? ''));
  }
  return out;
}

/**
 * Throws InvalidResourceError (path `spec.http[0].route[1].destination.subset`) for the first
 * VirtualService in `applying` whose route names a subset no DestinationRule defines for its host.
 * `existing` is what the store holds; rules in `applying` replace stored ones with the same key.
 * VirtualServices already stored are not re-checked: deleting a rule does not invalidate them here.
 */
export function checkSubsets(applying: readonly Resource[], existing: readonly Resource[]): void {
  const replaced = new Set(applying.map((r) => keyString(keyOf(r))));
  const rules = [
    ...existing.filter((r) => r.kind === 'DestinationRule' && !replaced.has(keyString(keyOf(r)))),
    ...applying.filter((r) => r.kind === 'DestinationRule'),
  ];
  const subsets = subsetsByHost(rules);
  applying.forEach((vs, index) => {
    if (vs.kind !== 'VirtualService') return;
    const ns = vs.metadata.namespace ?? 'default';
    const spec = asObj(vs.spec);
    for (const kind of ['http', 'tcp', 'tls'] as const) {
      asArr(spec[kind]).forEach((route, i) => {
        asArr(asObj(route)['route']).forEach((d, j) => {
          const dest = asObj(asObj(d)['destination']);
          const subset = dest['subset'];
          if (typeof subset !== 'string' || subset === '') return;
          const host = fqdn(String(dest['host'] ?? ''), ns);
          const defined = subsets.get(host);
          if (defined?.has(subset)) return;
          const why = defined
            ? `subset "${subset}" is not defined by the DestinationRule for ${host} (it defines: ${[...defined].sort().join(', ') || 'none'})`
            : `subset "${subset}" is not defined: no DestinationRule for host ${host}; apply the DestinationRule first or in the same request`;
          throw new InvalidResourceError(index + 1, vs.kind, vs.metadata.name, `spec.${kind}[${i}].route[${j}].destination.subset`, why);
        });
      });
    }
  });
}
