// The waypoint's routing configuration: VirtualServices and DestinationRules of its namespace, compiled
// once per change into per-host lists of HTTP/TCP routes (hosts resolved to FQDNs, regexes compiled).
import type { Resource } from '../api/types.js';
import { CLUSTER_DOMAIN } from '../config/mesh-constants.js';

/** What the control plane's /proxy/v1/routes answers, and what the router is compiled from. */
export interface RouteResources {
  virtualServices: Resource[];
  destinationRules: Resource[];
}

export type LbPolicy = 'ROUND_ROBIN' | 'RANDOM' | 'LEAST_REQUEST';
/** Istio's (and Envoy's) default when a DestinationRule says nothing. */
export const DEFAULT_LB_POLICY: LbPolicy = 'ROUND_ROBIN';

/** A compiled StringMatch; `test` is the whole semantics (exact, prefix, or RE2-style full-match regex). */
export interface CompiledStringMatch {
  kind: 'exact' | 'prefix' | 'regex';
  value: string;
  test(s: string): boolean;
}

export interface CompiledHttpMatch {
  uri?: CompiledStringMatch;
  method?: CompiledStringMatch;
  authority?: CompiledStringMatch;
  /** Header names lower-cased. */
  headers: Array<[string, CompiledStringMatch]>;
  withoutHeaders: Array<[string, CompiledStringMatch]>;
  queryParams: Array<[string, CompiledStringMatch]>;
  port?: number;
  ignoreUriCase: boolean;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
}

export interface CompiledDestination {
  /** FQDN of the destination service. */
  host: string;
  subset?: string;
  port?: number;
  weight: number;
}

export interface CompiledRoute<M> {
  /** `<namespace>/<virtual service>/<http|tcp>[<i>]`: stable key for weighted rotation and logs. */
  key: string;
  name?: string;
  /** Empty means "matches everything". Any match suffices. */
  matches: M[];
  destinations: CompiledDestination[];
}

export interface CompiledL4Match {
  port?: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
}

export type CompiledHttpRoute = CompiledRoute<CompiledHttpMatch>;
export type CompiledTcpRoute = CompiledRoute<CompiledL4Match>;

export interface CompiledSubset {
  name: string;
  labels: Record<string, string>;
  lb?: LbPolicy;
  portLb: Map<number, LbPolicy>;
}

export interface CompiledDestinationRule {
  host: string;
  lb?: LbPolicy;
  portLb: Map<number, LbPolicy>;
  subsets: Map<string, CompiledSubset>;
}

/** FQDN of `host` as written in a rule of `namespace` (Istio's short-name rule: `<name>.<namespace>.svc.<domain>`). */
export function resolveHost(host: string, namespace: string): string {
  return host.includes('.') || host === '*' ? host : `${host}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

/** Whether a VirtualService host (possibly `*.suffix` or `*`) covers the service hostname. */
export function hostMatches(pattern: string, hostname: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return hostname.endsWith(pattern.slice(1));
  return pattern === hostname;
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function compileStringMatch(spec: unknown, ignoreCase = false): CompiledStringMatch | undefined {
  const m = asObj(spec);
  if (typeof m['exact'] === 'string') {
    const value = m['exact'];
    return ignoreCase
      ? { kind: 'exact', value, test: (s) => s.toLowerCase() === value.toLowerCase() }
      : { kind: 'exact', value, test: (s) => s === value };
  }
  if (typeof m['prefix'] === 'string') {
    const value = m['prefix'];
    return ignoreCase
      ? { kind: 'prefix', value, test: (s) => s.toLowerCase().startsWith(value.toLowerCase()) }
      : { kind: 'prefix', value, test: (s) => s.startsWith(value) };
  }
  if (typeof m['regex'] === 'string') {
    const value = m['regex'];
    let re: RegExp;
    try {
      // Envoy's safe_regex matches the whole value (RE2 FullMatch), not a substring.
      re = new RegExp(`^(?:${value})$`, ignoreCase ? 'i' : '');
    } catch {
      // Not expressible in JavaScript's dialect: the match can never hold (as Envoy rejects the route).
      return { kind: 'regex', value, test: () => false };
    }
    return { kind: 'regex', value, test: (s) => re.test(s) };
  }
  return undefined;
}

function compileMatchMap(spec: unknown): Array<[string, CompiledStringMatch]> {
  const out: Array<[string, CompiledStringMatch]> = [];
  for (const [name, m] of Object.entries(asObj(spec))) {
    // An empty match object ({}) means "present with any value": a prefix of "" says exactly that.
    const compiled = compileStringMatch(m) ?? compileStringMatch({ prefix: '' })!;
    out.push([name.toLowerCase(), compiled]);
  }
  return out;
}

function compileHttpMatch(spec: unknown): CompiledHttpMatch {
  const m = asObj(spec);
  const ignoreUriCase = m['ignoreUriCase'] === true;
  return {
    uri: compileStringMatch(m['uri'], ignoreUriCase),
    method: compileStringMatch(m['method']),
    authority: compileStringMatch(m['authority']),
    headers: compileMatchMap(m['headers']),
    withoutHeaders: compileMatchMap(m['withoutHeaders']),
    queryParams: Object.entries(asObj(m['queryParams'])).map(([k, v]) => [k, compileStringMatch(v) ?? compileStringMatch({ prefix: '' })!]),
    port: typeof m['port'] === 'number' ? m['port'] : undefined,
    ignoreUriCase,
    sourceLabels: m['sourceLabels'] ? (asObj(m['sourceLabels']) as Record<string, string>) : undefined,
    sourceNamespace: typeof m['sourceNamespace'] === 'string' ? m['sourceNamespace'] : undefined,
  };
}

function compileL4Match(spec: unknown): CompiledL4Match {
  const m = asObj(spec);
  return {
    port: typeof m['port'] === 'number' ? m['port'] : undefined,
    sourceLabels: m['sourceLabels'] ? (asObj(m['sourceLabels']) as Record<string, string>) : undefined,
    sourceNamespace: typeof m['sourceNamespace'] === 'string' ? m['sourceNamespace'] : undefined,
  };
}

function compileDestinations(spec: unknown, namespace: string): CompiledDestination[] {
  const list = asArr(spec);
  return list.map((d) => {
    const dest = asObj(asObj(d)['destination']);
    const weight = asObj(d)['weight'];
    const port = asObj(dest['port'])['number'];
    return {
      host: resolveHost(String(dest['host'] ?? ''), namespace),
      subset: typeof dest['subset'] === 'string' && dest['subset'] !== '' ? dest['subset'] : undefined,
      port: typeof port === 'number' ? port : undefined,
      // A lone destination takes all traffic whatever its weight says (Istio's rule).
      weight: list.length === 1 ? 100 : typeof weight === 'number' ? weight : 0,
    };
  });
}

function lbOf(trafficPolicy: unknown): { lb?: LbPolicy; portLb: Map<number, LbPolicy> } {
  const tp = asObj(trafficPolicy);
  const simple = (v: unknown): LbPolicy | undefined => {
    const s = asObj(v)['simple'];
    // LEAST_CONN is the old spelling of LEAST_REQUEST; UNSPECIFIED and PASSTHROUGH fall back to the default.
    if (s === 'ROUND_ROBIN' || s === 'RANDOM' || s === 'LEAST_REQUEST') return s;
    if (s === 'LEAST_CONN') return 'LEAST_REQUEST';
    return undefined;
  };
  const portLb = new Map<number, LbPolicy>();
  for (const p of asArr(tp['portLevelSettings'])) {
    const n = asObj(asObj(p)['port'])['number'];
    const policy = simple(asObj(p)['loadBalancer']);
    if (typeof n === 'number' && policy) portLb.set(n, policy);
  }
  return { lb: simple(tp['loadBalancer']), portLb };
}

/** Oldest first, then by name: Istio's order when several resources configure one host. */
function byAge(a: Resource, b: Resource): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

interface CompiledVirtualService {
  hosts: string[];
  http: CompiledHttpRoute[];
  tcp: CompiledTcpRoute[];
}

/** The compiled form of one RouteResources; immutable, replaced as a whole on every change. */
export class RouteTable {
  private readonly virtualServices: CompiledVirtualService[] = [];
  private readonly rules = new Map<string, CompiledDestinationRule>();

  constructor(resources: RouteResources = { virtualServices: [], destinationRules: [] }) {
    for (const vs of [...resources.virtualServices].sort(byAge)) {
      const ns = vs.metadata.namespace ?? 'default';
      const spec = asObj(vs.spec);
      const prefix = `${ns}/${vs.metadata.name}`;
      this.virtualServices.push({
        hosts: asArr(spec['hosts']).map((h) => resolveHost(String(h), ns)),
        http: asArr(spec['http']).map((r, i) => ({
          key: `${prefix}/http[${i}]`,
          name: typeof asObj(r)['name'] === 'string' ? (asObj(r)['name'] as string) : undefined,
          matches: asArr(asObj(r)['match']).map(compileHttpMatch),
          destinations: compileDestinations(asObj(r)['route'], ns),
        })),
        tcp: asArr(spec['tcp']).map((r, i) => ({
          key: `${prefix}/tcp[${i}]`,
          matches: asArr(asObj(r)['match']).map(compileL4Match),
          destinations: compileDestinations(asObj(r)['route'], ns),
        })),
      });
    }
    // The oldest rule for a host wins, as in Istio (later ones for the same host are ignored).
    for (const dr of [...resources.destinationRules].sort(byAge)) {
      const ns = dr.metadata.namespace ?? 'default';
      const spec = asObj(dr.spec);
      const host = resolveHost(String(spec['host'] ?? ''), ns);
      if (this.rules.has(host)) continue;
      const subsets = new Map<string, CompiledSubset>();
      for (const s of asArr(spec['subsets'])) {
        const so = asObj(s);
        const name = String(so['name'] ?? '');
        subsets.set(name, { name, labels: asObj(so['labels']) as Record<string, string>, ...lbOf(so['trafficPolicy']) });
      }
      this.rules.set(host, { host, subsets, ...lbOf(spec['trafficPolicy']) });
    }
  }

  /** HTTP routes of the first VirtualService that names `hostname` (Istio merges none: first one wins). */
  httpRoutes(hostname: string): readonly CompiledHttpRoute[] {
    return this.virtualServiceFor(hostname)?.http ?? [];
  }

  tcpRoutes(hostname: string): readonly CompiledTcpRoute[] {
    return this.virtualServiceFor(hostname)?.tcp ?? [];
  }

  destinationRule(hostname: string): CompiledDestinationRule | undefined {
    return this.rules.get(hostname);
  }

  /** Subset → port-level → rule → rule port-level order, as Istio's subset traffic policy overrides the rule's. */
  loadBalancer(hostname: string, subset: string | undefined, port: number): LbPolicy {
    const rule = this.rules.get(hostname);
    if (!rule) return DEFAULT_LB_POLICY;
    const s = subset ? rule.subsets.get(subset) : undefined;
    return s?.portLb.get(port) ?? s?.lb ?? rule.portLb.get(port) ?? rule.lb ?? DEFAULT_LB_POLICY;
  }

  private virtualServiceFor(hostname: string): CompiledVirtualService | undefined {
    // An exact host beats a wildcard one, whatever their age.
    return (
      this.virtualServices.find((vs) => vs.hosts.includes(hostname)) ??
      this.virtualServices.find((vs) => vs.hosts.some((h) => hostMatches(h, hostname)))
    );
  }
}
