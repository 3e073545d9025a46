// PeerAuthentication → L4 DENY policies that refuse plaintext ("no peer principal") where mTLS is STRICT.
//
// Facts from Istio's ambient conversion: STRICT is expressed as a DENY whose match is
// `notPrincipals: [presence]`; the mesh-wide one is named `istio_converted_static_strict` in the root
// namespace; a converted PeerAuthentication is named `converted_peer_authentication_<name>`; a STRICT
// port under a non-STRICT mode becomes a match `{notPrincipals: presence, destinationPorts: [port]}`, a
// non-STRICT port under STRICT exempts itself with `notDestinationPorts: [port]`; the oldest policy at a
// level wins; portLevelMtls only counts on selector policies.
//
// Differences from Istio: Istio always sends the static STRICT policy and attaches it by name to each
// workload whose *effective* mode is STRICT. Here mesh-wide and namespace-wide STRICT are GLOBAL and
// NAMESPACE scoped policies, and a narrower PERMISSIVE/DISABLE does not loosen a broader STRICT (a
// matching DENY always wins); such an override is reported as a note in registryz instead.
import { MESH_ROOT_NAMESPACE, type AuthorizationMatch, type AuthorizationRule, type MeshAuthorization } from '../../api/mesh.js';
import type { Resource } from '../../api/types.js';
import { emptyMatch, type ConvertedPolicy } from './authorization.js';
import { stringMap } from '../../api/labels.js';

export const STATIC_STRICT_POLICY_NAME = 'istio_converted_static_strict';
export const CONVERTED_PEER_AUTHENTICATION_PREFIX = 'converted_peer_authentication_';

type Mode = 'UNSET' | 'STRICT' | 'PERMISSIVE' | 'DISABLE';

function modeOf(mtls: unknown): Mode {
  const m = (mtls as { mode?: unknown } | undefined)?.mode;
  return m === 'STRICT' || m === 'PERMISSIVE' || m === 'DISABLE' ? m : 'UNSET';
}

function plaintextMatch(): AuthorizationMatch {
  const m = emptyMatch();
  m.notPrincipals = [{ presence: true }];
  return m;
}

/** Oldest first (creationTimestamp, then name), so the winner at each level is the first. */
function byAge(a: Resource, b: Resource): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

function selectorOf(pa: Resource): Record<string, string> {
  return stringMap((pa.spec?.['selector'] as { matchLabels?: unknown } | undefined)?.matchLabels);
}

/** Port → mode of `portLevelMtls`, ports in ascending order. */
function portModes(pa: Resource): Array<[number, Mode]> {
  const raw = (pa.spec?.['portLevelMtls'] ?? {}) as Record<string, unknown>;
  const out: Array<[number, Mode]> = [];
  for (const [port, mtls] of Object.entries(raw)) {
    const n = Number(port);
    if (Number.isInteger(n) && n > 0 && n <= 65535) out.push([n, modeOf(mtls)]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** Rules of a selector policy, or undefined when it requires nothing beyond its parents. */
function workloadRules(mode: Mode, ports: Array<[number, Mode]>): AuthorizationRule[] | undefined {
  if (mode === 'STRICT') {
    const exempt = ports.filter(([, m]) => m === 'PERMISSIVE' || m === 'DISABLE').map(([p]) => p);
    const clauses = [{ matches: [plaintextMatch()] }];
    for (const p of exempt) {
      const m = emptyMatch();
      m.notDestinationPorts = [p];
      clauses.push({ matches: [m] });
    }
    return [{ clauses }];
  }
  const strict = ports.filter(([, m]) => m === 'STRICT').map(([p]) => p);
  if (strict.length === 0) return undefined;
  return strict.map((p) => {
    const m = plaintextMatch();
    m.destinationPorts = [p];
    return { clauses: [{ matches: [m] }] };
  });
}

export function convertPeerAuthentications(all: Resource[]): ConvertedPolicy[] {
  const out: ConvertedPolicy[] = [];
  const sorted = [...all].sort(byAge);
  const seenLevel = new Set<string>();
  const meshWinner = sorted.find((pa) => pa.metadata.namespace === MESH_ROOT_NAMESPACE && Object.keys(selectorOf(pa)).length === 0);
  const meshStrict = meshWinner !== undefined && modeOf(meshWinner.spec?.['mtls']) === 'STRICT';
  for (const pa of sorted) {
    const namespace = pa.metadata.namespace ?? 'default';
    const name = pa.metadata.name;
    const selector = selectorOf(pa);
    const hasSelector = Object.keys(selector).length > 0;
    const mode = modeOf(pa.spec?.['mtls']);
    const entry: ConvertedPolicy = { kind: 'PeerAuthentication', namespace, name, notes: [] };
    out.push(entry);
    if (!hasSelector) {
      const level = namespace === MESH_ROOT_NAMESPACE ? 'mesh' : `ns/${namespace}`;
      if (seenLevel.has(level)) {
        entry.skipped = `an older PeerAuthentication without selector in ${namespace} takes precedence`;
        continue;
      }
      seenLevel.add(level);
      if (mode !== 'STRICT') {
        entry.skipped = `mode ${mode} needs no enforcement at L4`;
        if (level !== 'mesh' && meshStrict && mode !== 'UNSET') entry.notes.push('cannot loosen the mesh-wide STRICT policy: plaintext stays refused');
        continue;
      }
      entry.policy = {
        name: level === 'mesh' ? STATIC_STRICT_POLICY_NAME : CONVERTED_PEER_AUTHENTICATION_PREFIX + name,
        namespace,
        scope: level === 'mesh' ? 'GLOBAL' : 'NAMESPACE',
        action: 'DENY',
        rules: [{ clauses: [{ matches: [plaintextMatch()] }] }],
      } satisfies MeshAuthorization;
      continue;
    }
    if (namespace === MESH_ROOT_NAMESPACE) {
      entry.skipped = 'selector policies in the root namespace are ignored, as in Istio';
      continue;
    }
    const rules = workloadRules(mode, portModes(pa));
    if (!rules) {
      entry.skipped = `mode ${mode} without STRICT ports needs no enforcement at L4`;
      continue;
    }
    entry.policy = {
      name: CONVERTED_PEER_AUTHENTICATION_PREFIX + name,
      namespace,
      scope: 'WORKLOAD_SELECTOR',
      action: 'DENY',
      rules,
    };
    entry.selector = selector;
  }
  return out;
}
