// AuthorizationPolicy → the L4 Authorization ztunnel enforces. Facts follow Istio's ambient conversion:
// an ALLOW rule that needs HTTP attributes can never match at L4 and is dropped (allow less); a DENY
// rule keeps its L4 parts and ignores the HTTP ones (deny more). Policies with targetRef(s) are for
// waypoints, and AUDIT/CUSTOM are not enforced by node proxies; both are reported, not converted.
import { isIP } from 'node:net';
import {
  MESH_ROOT_NAMESPACE,
  type AuthorizationClause,
  type AuthorizationMatch,
  type AuthorizationRule,
  type MeshAuthorization,
  type StringMatch,
} from '../../api/mesh.js';
import type { Resource } from '../../api/types.js';
import { stringMap, type Labels } from '../../api/labels.js';

/** What converting one policy produced: the policy (if enforced at L4), whom it selects, and notes for registryz. */
export interface ConvertedPolicy {
  /** `AuthorizationPolicy` or `PeerAuthentication`. */
  kind: string;
  namespace: string;
  name: string;
  policy?: MeshAuthorization;
  /** matchLabels of a WORKLOAD_SELECTOR policy. */
  selector?: Labels;
  /** Why the policy is not enforced by node proxies. */
  skipped?: string;
  /** Parts of the policy that were dropped or ignored. */
  notes: string[];
}

const SOURCE_L7 = ['requestPrincipals', 'notRequestPrincipals', 'remoteIpBlocks', 'notRemoteIpBlocks'];
const OPERATION_L7 = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'];
/** `when` keys a node proxy can evaluate; any other key (request.*, ...) needs HTTP. */
const L4_WHEN_KEYS = new Set(['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port']);

export function emptyMatch(): AuthorizationMatch {
  return {
    namespaces: [],
    notNamespaces: [],
    principals: [],
    notPrincipals: [],
    sourceIps: [],
    notSourceIps: [],
    destinationIps: [],
    notDestinationIps: [],
    destinationPorts: [],
    notDestinationPorts: [],
  };
}

function isEmptyMatch(m: AuthorizationMatch): boolean {
  return Object.values(m).every((v) => (v as unknown[]).length === 0);
}

/** Istio's wildcard spelling: `*` any value present, `x*` prefix, `*x` suffix, else exact. */
export function toStringMatch(value: string): StringMatch {
  if (value === '*') return { presence: true };
  if (value.startsWith('*')) return { suffix: value.slice(1) };
  if (value.endsWith('*')) return { prefix: value.slice(0, -1) };
  return { exact: value };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function stringMatches(value: unknown): StringMatch[] {
  return strings(value).map(toStringMatch);
}

/** Ports as numbers; values that are not a port are left out, as Istio does. */
function ports(value: unknown): number[] {
  const out: number[] = [];
  for (const v of Array.isArray(value) ? value : []) {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
    if (Number.isInteger(n) && n >= 0 && n <= 65535) out.push(n);
  }
  return out;
}

/** CIDRs as `address/length`; a bare address becomes a host route; unparsable entries are left out. */
function cidrs(value: unknown): string[] {
  const out: string[] = [];
  for (const v of strings(value)) {
    const [addr, len] = v.split('/') as [string, string | undefined];
    const family = isIP(addr);
    if (family === 0) continue;
    const max = family === 4 ? 32 : 128;
    if (len === undefined) out.push(`${addr}/${max}`);
    else if (/^\d+$/.test(len) && Number(len) <= max) out.push(`${addr}/${Number(len)}`);
  }
  return out;
}

function present(obj: Record<string, unknown>, key: string): boolean {
  const v = obj[key];
  return Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null;
}

/**
 * A clause from a list of matches. A match with no conditions matches everything, which makes the
 * whole clause always true: such a clause is left out of the rule (the rule's other clauses decide).
 */
function clause(matches: AuthorizationMatch[]): AuthorizationClause | undefined {
  if (matches.length === 0 || matches.some(isEmptyMatch)) return undefined;
  return { matches };
}

function convertRule(rule: Record<string, unknown>, l7: Set<string>): AuthorizationRule {
  const clauses: AuthorizationClause[] = [];
  const from = Array.isArray(rule['from']) ? (rule['from'] as Array<Record<string, unknown>>) : [];
  const fromMatches = from.map((f) => {
    const s = (f?.['source'] ?? {}) as Record<string, unknown>;
    for (const k of SOURCE_L7) if (present(s, k)) l7.add(k);
    // serviceAccounts has no field in this Match; not enforcing it is treated like an HTTP attribute.
    for (const k of ['serviceAccounts', 'notServiceAccounts']) if (present(s, k)) l7.add(k);
    const m = emptyMatch();
    m.principals = stringMatches(s['principals']);
    m.notPrincipals = stringMatches(s['notPrincipals']);
    m.namespaces = stringMatches(s['namespaces']);
    m.notNamespaces = stringMatches(s['notNamespaces']);
    m.sourceIps = cidrs(s['ipBlocks']);
    m.notSourceIps = cidrs(s['notIpBlocks']);
    return m;
  });
  const to = Array.isArray(rule['to']) ? (rule['to'] as Array<Record<string, unknown>>) : [];
  const toMatches = to.map((t) => {
    const op = (t?.['operation'] ?? {}) as Record<string, unknown>;
    for (const k of OPERATION_L7) if (present(op, k)) l7.add(k);
    const m = emptyMatch();
    m.destinationPorts = ports(op['ports']);
    m.notDestinationPorts = ports(op['notPorts']);
    return m;
  });
  const whenMatches: AuthorizationMatch[] = [];
  for (const cond of Array.isArray(rule['when']) ? (rule['when'] as Array<Record<string, unknown>>) : []) {
    const key = typeof cond?.['key'] === 'string' ? cond['key'] : '';
    if (!L4_WHEN_KEYS.has(key)) {
      l7.add(key || 'when');
      continue;
    }
    const m = emptyMatch();
    const values = cond['values'];
    const notValues = cond['notValues'];
    if (key === 'source.ip') [m.sourceIps, m.notSourceIps] = [cidrs(values), cidrs(notValues)];
    if (key === 'source.namespace') [m.namespaces, m.notNamespaces] = [stringMatches(values), stringMatches(notValues)];
    if (key === 'source.principal') [m.principals, m.notPrincipals] = [stringMatches(values), stringMatches(notValues)];
    if (key === 'destination.ip') [m.destinationIps, m.notDestinationIps] = [cidrs(values), cidrs(notValues)];
    if (key === 'destination.port') [m.destinationPorts, m.notDestinationPorts] = [ports(values), ports(notValues)];
    whenMatches.push(m);
  }
  for (const matches of [fromMatches, toMatches, ...whenMatches.map((m) => [m])]) {
    const c = clause(matches);
    if (c) clauses.push(c);
  }
  return { clauses };
}

/** Converts one AuthorizationPolicy resource. */
export function convertAuthorizationPolicy(res: Resource): ConvertedPolicy {
  const spec = res.spec ?? {};
  const namespace = res.metadata.namespace ?? 'default';
  const name = res.metadata.name;
  const out: ConvertedPolicy = { kind: 'AuthorizationPolicy', namespace, name, notes: [] };
  if (present(spec, 'targetRef') || present(spec, 'targetRefs')) {
    out.skipped = 'targetRef policies apply at a waypoint, not at node proxies';
    return out;
  }
  const action = typeof spec['action'] === 'string' ? spec['action'] : 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY') {
    out.skipped = `action ${action} is not enforced at L4 by node proxies`;
    return out;
  }
  const selector = stringMap((spec['selector'] as { matchLabels?: unknown } | undefined)?.matchLabels);
  const hasSelector = Object.keys(selector).length > 0;
  const scope = hasSelector ? 'WORKLOAD_SELECTOR' : namespace === MESH_ROOT_NAMESPACE ? 'GLOBAL' : 'NAMESPACE';
  const rules: AuthorizationRule[] = [];
  const rawRules = Array.isArray(spec['rules']) ? (spec['rules'] as Array<Record<string, unknown>>) : [];
  rawRules.forEach((raw, i) => {
    const l7 = new Set<string>();
    const rule = convertRule(raw ?? {}, l7);
    if (l7.size === 0) {
      rules.push(rule);
      return;
    }
    const found = [...l7].sort().join(', ');
    if (action === 'ALLOW') {
      out.notes.push(`rules[${i}] dropped: it uses HTTP attributes (${found}) that cannot match at L4; use a waypoint to enforce them`);
      return;
    }
    out.notes.push(`rules[${i}] enforced without its HTTP attributes (${found}): denies more than requested`);
    rules.push(rule);
  });
  out.policy = { name, namespace, scope, action, rules };
  if (hasSelector) out.selector = selector;
  return out;
}
