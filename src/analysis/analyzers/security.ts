// AuthorizationPolicy and PeerAuthentication checks: selectors that match nothing, rules a node proxy can
// never match (HTTP attributes at L4), and STRICT mTLS where workloads outside the mesh will be refused.
import { MESH_ROOT_NAMESPACE } from '../../api/mesh.js';
import { convertAuthorizationPolicy } from '../../controlplane/registry/authorization.js';
import { stringMap } from '../../api/labels.js';
import { finding, MESSAGES, type Finding } from '../messages.js';
import { asObj, formatLabels, namespaceOf, ofKind, refOf, selected, type AnalyzedWorkload, type Snapshot } from '../snapshot.js';

/** The `spec.selector.matchLabels` of a policy, or undefined when it has none (namespace or mesh wide). */
function matchLabels(spec: unknown): Record<string, string> | undefined {
  const labels = stringMap(asObj(asObj(spec)['selector'])['matchLabels']);
  return Object.keys(labels).length > 0 ? labels : undefined;
}

function selectsNothing(s: Snapshot, kind: string): Finding[] {
  const out: Finding[] = [];
  for (const r of ofKind(s, kind)) {
    const labels = matchLabels(r.spec);
    if (!labels || selected(s, namespaceOf(r), labels).length > 0) continue;
    out.push(
      finding(
        MESSAGES.noMatchingWorkloads,
        refOf(r),
        `No matching workloads for this resource with the following labels: ${formatLabels(labels)}`,
        `correct spec.selector.matchLabels, or deploy the workload it is meant for in namespace ${namespaceOf(r)}`,
        'spec.selector.matchLabels',
      ),
    );
  }
  return out;
}

/** The converter's own notes say which rules a node proxy drops or widens; analyze reports them. */
function authorizationRules(s: Snapshot): Finding[] {
  const out: Finding[] = [];
  for (const r of ofKind(s, 'AuthorizationPolicy')) {
    const converted = convertAuthorizationPolicy(r);
    // A targetRef policy is enforced by the waypoint it names (checked in ambient.ts), not skipped.
    if (converted.skipped && !('targetRef' in asObj(r.spec)) && !('targetRefs' in asObj(r.spec))) {
      out.push(finding(MESSAGES.policyNotEnforcedAtL4, refOf(r), `Not enforced by node proxies: ${converted.skipped}`, 'enforce it with a waypoint, or express it with L4 fields (principals, namespaces, ipBlocks, ports)'));
    }
    for (const note of converted.notes) {
      const rule = /^rules\[(\d+)\]/.exec(note)?.[0];
      const dropped = note.includes('dropped');
      out.push(
        finding(
          dropped ? MESSAGES.ruleNeverMatches : MESSAGES.ruleDeniesMore,
          refOf(r),
          dropped ? `${note}: the rule never matches, so what it was meant to allow is denied` : note,
          'move the HTTP conditions to a policy attached to a waypoint (targetRefs), or use only L4 fields in this rule',
          rule ? `spec.${rule}` : undefined,
        ),
      );
    }
  }
  return out;
}

function modeOf(spec: unknown): string | undefined {
  const m = asObj(asObj(spec)['mtls'])['mode'];
  return typeof m === 'string' ? m : undefined;
}

function ownerName(w: AnalyzedWorkload): string {
  const kind = w.owner.kind === 'Deployment' ? 'deploy' : w.owner.kind.toLowerCase();
  return `${w.owner.namespace}/${kind}/${w.owner.name}`;
}

/** STRICT refuses plaintext: every workload outside the mesh (`dataplane-mode: none`) is refused there. */
function strictWithUnenrolled(s: Snapshot): Finding[] {
  const outside = s.workloads.filter((w) => !w.enrolled);
  if (outside.length === 0) return [];
  const names = outside.map(ownerName).sort();
  const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
  const out: Finding[] = [];
  for (const pa of ofKind(s, 'PeerAuthentication')) {
    if (modeOf(pa.spec) !== 'STRICT') continue;
    const ns = namespaceOf(pa);
    const labels = matchLabels(pa.spec);
    const scope = ns === MESH_ROOT_NAMESPACE && !labels ? 'the whole mesh' : labels ? `workloads labelled ${formatLabels(labels)} in namespace ${ns}` : `namespace ${ns}`;
    out.push(
      finding(
        MESSAGES.strictWithUnenrolledClients,
        refOf(pa),
        `STRICT mTLS on ${scope} refuses plaintext, and ${names.length} workload${names.length === 1 ? ' is' : 's are'} outside the mesh (istio.io/dataplane-mode=none): ${shown}; their connections here are refused`,
        'enroll those workloads (remove istio.io/dataplane-mode=none), or use PERMISSIVE until they are',
        'spec.mtls.mode',
      ),
    );
  }
  return out;
}

export function analyzeSecurity(s: Snapshot): Finding[] {
  return [...selectsNothing(s, 'AuthorizationPolicy'), ...authorizationRules(s), ...selectsNothing(s, 'PeerAuthentication'), ...strictWithUnenrolled(s)];
}
