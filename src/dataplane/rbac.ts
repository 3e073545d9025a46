// Inbound AuthorizationPolicy evaluation (L4 only): which connection a set of policies lets through, and why.
import type { AuthorizationMatch, MeshAuthorization, StringMatch } from '../api/mesh.js';
import { authorizationResourceName } from '../api/mesh.js';
import { parseSpiffeUri, principalOf } from '../identity/spiffe.js';
import { cidrContains, parseCidr, parseIp, type Cidr, type IpBytes } from './state/addresses.js';

export interface AuthorizationRequest {
  /** The policies that apply to the destination workload (ProxyState.policiesFor). */
  policies: readonly MeshAuthorization[];
  /** The peer's verified SPIFFE id (`spiffe://td/ns/N/sa/S`); undefined for a plaintext connection. */
  sourceIdentity?: string;
  sourceIp: string;
  destinationIp: string;
  destinationPort: number;
}

export interface AuthorizationDecision {
  allowed: boolean;
  /** `namespace/name` of the policy that decided, when one did. */
  policy?: string;
  /** Index of the policy's rule that matched (`spec.rules[rule]`), when a policy decided. */
  rule?: number;
  reason: string;
}

export const REASON_NO_ALLOW_POLICIES = 'no ALLOW policies apply';
export const REASON_NO_ALLOW_MATCHED = 'allow policies exist but none matched';

/** The connection facts every match is tested against, parsed once per request. */
interface Peer {
  /** Principal without the scheme (`cluster.local/ns/N/sa/S`), '' for plaintext. */
  principal: string;
  /** Namespace from the SPIFFE id, '' for plaintext or an id that is not a workload identity. */
  namespace: string;
  sourceIp: IpBytes | undefined;
  destinationIp: IpBytes | undefined;
  destinationPort: number;
}

interface CompiledMatch {
  sourceIps: Cidr[];
  notSourceIps: Cidr[];
  destinationIps: Cidr[];
  notDestinationIps: Cidr[];
}

// Policies are immutable once received and replaced wholesale on update, so CIDRs are parsed once per
// match object and the entry goes away with the object.
const compiled = new WeakMap<AuthorizationMatch, CompiledMatch>();

/**
 * A CIDR the control plane sent but that does not parse matches no address. ztunnel drops such entries
 * instead, which can turn `sourceIps: [bad]` into "any source"; matching nothing errs on the side of the
 * policy's intent for ALLOW (nothing extra is let in).
 */
function parseCidrs(texts: readonly string[]): Cidr[] {
  return texts.map((text) => parseCidr(text) ?? { bytes: new Uint8Array(0), prefixLength: 0 });
}

function compile(match: AuthorizationMatch): CompiledMatch {
  let c = compiled.get(match);
  if (!c) {
    c = {
      sourceIps: parseCidrs(match.sourceIps),
      notSourceIps: parseCidrs(match.notSourceIps),
      destinationIps: parseCidrs(match.destinationIps),
      notDestinationIps: parseCidrs(match.notDestinationIps),
    };
    compiled.set(match, c);
  }
  return c;
}

function stringMatches(m: StringMatch, value: string): boolean {
  if ('exact' in m) return value === m.exact;
  if ('prefix' in m) return value.startsWith(m.prefix);
  if ('suffix' in m) return value.endsWith(m.suffix);
  // presence: any non-empty value, so a plaintext peer (no identity) is never "present".
  return value !== '';
}

/** A field pair passes when the positive list is empty or has a hit, and the negative list has no hit. */
function fieldMatches<T>(positive: readonly T[], negative: readonly T[], hit: (item: T) => boolean): boolean {
  if (positive.length > 0 && !positive.some(hit)) return false;
  return !(negative.length > 0 && negative.some(hit));
}

function ipIn(address: IpBytes | undefined): (cidr: Cidr) => boolean {
  return (cidr) => address !== undefined && cidrContains(cidr, address);
}

function isEmptyMatch(m: AuthorizationMatch): boolean {
  return (
    m.namespaces.length === 0 &&
    m.notNamespaces.length === 0 &&
    m.principals.length === 0 &&
    m.notPrincipals.length === 0 &&
    m.sourceIps.length === 0 &&
    m.notSourceIps.length === 0 &&
    m.destinationIps.length === 0 &&
    m.notDestinationIps.length === 0 &&
    m.destinationPorts.length === 0 &&
    m.notDestinationPorts.length === 0
  );
}

function matchMatches(m: AuthorizationMatch, peer: Peer): boolean {
  // A match with no conditions at all is what an empty `from`/`to` entry compiles to; ztunnel skips it.
  if (isEmptyMatch(m)) return false;
  const c = compile(m);
  return (
    fieldMatches(m.destinationPorts, m.notDestinationPorts, (port) => port === peer.destinationPort) &&
    fieldMatches(c.destinationIps, c.notDestinationIps, ipIn(peer.destinationIp)) &&
    fieldMatches(c.sourceIps, c.notSourceIps, ipIn(peer.sourceIp)) &&
    // Without an identity no principal condition holds, not even prefix '' (ztunnel does the same), so a
    // notPrincipals entry never excludes a plaintext peer and a principals entry never admits one.
    fieldMatches(m.principals, m.notPrincipals, (s) => peer.principal !== '' && stringMatches(s, peer.principal)) &&
    fieldMatches(m.namespaces, m.notNamespaces, (s) => stringMatches(s, peer.namespace))
  );
}

/** The first rule that matches, or -1; a rule needs all its clauses (none: always); a clause needs any of its matches. No rules: never. */
function matchingRule(policy: MeshAuthorization, peer: Peer): number {
  return policy.rules.findIndex((rule) =>
    rule.clauses.every((clause) => clause.matches.length === 0 || clause.matches.some((m) => matchMatches(m, peer))),
  );
}

function peerOf(request: AuthorizationRequest): Peer {
  const identity = request.sourceIdentity;
  return {
    principal: identity ? principalOf(identity) : '',
    namespace: identity ? (parseSpiffeUri(identity)?.namespace ?? '') : '',
    sourceIp: parseIp(request.sourceIp),
    destinationIp: parseIp(request.destinationIp),
    destinationPort: request.destinationPort,
  };
}

/**
 * Istio's order: any matching DENY denies; with no ALLOW policies the connection is allowed; otherwise an
 * ALLOW policy must match. Policies are tried in the order given (ProxyState sorts them by name), so the
 * reported deciding policy is the first that matched.
 */
export function authorize(request: AuthorizationRequest): AuthorizationDecision {
  const peer = peerOf(request);
  let allowPolicies = 0;
  for (const policy of request.policies) {
    if (policy.action !== 'DENY') {
      allowPolicies++;
      continue;
    }
    const rule = matchingRule(policy, peer);
    if (rule >= 0) {
      const key = authorizationResourceName(policy);
      return { allowed: false, policy: key, rule, reason: `matched DENY policy ${key}` };
    }
  }
  if (allowPolicies === 0) return { allowed: true, reason: REASON_NO_ALLOW_POLICIES };
  for (const policy of request.policies) {
    const rule = policy.action === 'ALLOW' ? matchingRule(policy, peer) : -1;
    if (rule >= 0) {
      const key = authorizationResourceName(policy);
      return { allowed: true, policy: key, rule, reason: `matched ALLOW policy ${key}` };
    }
  }
  return { allowed: false, reason: REASON_NO_ALLOW_MATCHED };
}
