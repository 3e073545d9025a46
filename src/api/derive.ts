// Values the mesh derives from resources: canonical service name and revision, SPIFFE identity,
// workload type, and Go/protobuf duration strings ("1m30s", "250ms") used across the config.
import { L4meshError } from '../errors/index.js';
import { spiffeUri } from '../identity/spiffe.js';
import type { WorkloadType } from './mesh.js';

export const LABEL_CANONICAL_NAME = 'service.istio.io/canonical-name';
export const LABEL_CANONICAL_REVISION = 'service.istio.io/canonical-revision';
export const LABEL_K8S_NAME = 'app.kubernetes.io/name';
export const LABEL_K8S_VERSION = 'app.kubernetes.io/version';
export const LABEL_APP = 'app';
export const LABEL_VERSION = 'version';

/** Istio reports `latest` when a workload carries no version label at all. */
export const DEFAULT_CANONICAL_REVISION = 'latest';
/** Kubernetes runs pods as the `default` service account when the pod spec names none. */
export const DEFAULT_SERVICE_ACCOUNT = 'default';

function firstLabel(labels: Record<string, string> | undefined, keys: readonly string[]): string | undefined {
  if (!labels) return undefined;
  for (const k of keys) {
    const v = labels[k];
    if (v) return v;
  }
  return undefined;
}

/** The canonical service of a workload, in Istio's label precedence (DESIGN.md section 3). */
export function canonicalName(labels: Record<string, string> | undefined, workloadName: string): string {
  return firstLabel(labels, [LABEL_CANONICAL_NAME, LABEL_K8S_NAME, LABEL_APP]) ?? workloadName;
}

export function canonicalRevision(labels: Record<string, string> | undefined): string {
  return firstLabel(labels, [LABEL_CANONICAL_REVISION, LABEL_K8S_VERSION, LABEL_VERSION]) ?? DEFAULT_CANONICAL_REVISION;
}

export function identityOf(trustDomain: string, namespace: string, serviceAccount: string | undefined): string {
  return spiffeUri(trustDomain, namespace, serviceAccount || DEFAULT_SERVICE_ACCOUNT);
}

/**
 * The workload type reported to proxies, from the kind of the pod's owner. A ReplicaSet stands for
 * the Deployment that created it, as Istio reports it.
 */
export function workloadTypeOf(ownerKind: string | undefined): WorkloadType {
  switch (ownerKind) {
    case 'Deployment':
    case 'ReplicaSet':
      return 'DEPLOYMENT';
    case 'CronJob':
      return 'CRONJOB';
    case 'Job':
      return 'JOB';
    default:
      return 'POD';
  }
}

// Milliseconds per unit of Go's time.ParseDuration (which protobuf Duration text is a subset of).
const UNIT_MS: Readonly<Record<string, number>> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  'µs': 0.001,
  'μs': 0.001,
  ns: 0.000001,
};

const NS_PER_MS = 1_000_000;

const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|μs|ns)/y;

/**
 * Parses a duration such as "15s", "1m30s", "250ms" or "1.5s" into milliseconds. Negative values
 * are refused: every duration in mesh config is an interval or timeout.
 */
export function parseDuration(text: string): number {
  const bad = (why: string) =>
    new L4meshError('L4MESH_ERR_CONFIG', `invalid duration ${JSON.stringify(text)}: ${why} (examples: "15s", "1m30s", "250ms", "1.5s")`);
  if (typeof text !== 'string') throw bad('not a string');
  const s = text.trim();
  if (s === '') throw bad('empty');
  if (s === '0') return 0;
  if (s.startsWith('-')) throw bad('must not be negative');
  let total = 0;
  let at = s.startsWith('+') ? 1 : 0;
  if (at === s.length) throw bad('no value');
  while (at < s.length) {
    DURATION_PART.lastIndex = at;
    const m = DURATION_PART.exec(s);
    if (!m) {
      const rest = s.slice(at);
      throw bad(/^[\d.]+$/.test(rest) ? `missing unit after "${rest}"` : `unexpected "${rest}"`);
    }
    total += Number(m[1]) * UNIT_MS[m[2] as string]!;
    at = DURATION_PART.lastIndex;
  }
  if (!Number.isFinite(total)) throw bad('too large');
  // Round to whole nanoseconds so "1.1s" is 1100, not 1100.0000000000002.
  return Math.round(total * NS_PER_MS) / NS_PER_MS;
}

/** The inverse for help texts: a whole number of the largest unit that divides `ms` ("15s", "5m", "250ms"). */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit]!;
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms === 0 ? '0' : `${ms}ms`;
}
