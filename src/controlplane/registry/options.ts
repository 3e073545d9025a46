// What the registry is built from (the resource store, or a fake in tests) and its options with defaults.
import type { Resource } from '../../api/types.js';
import { CLUSTER_DOMAIN, DEFAULT_CLUSTER_ID, DEFAULT_TRUST_DOMAIN, DEFAULT_VIP_RANGE } from '../../config/mesh-constants.js';
import { L4meshError } from '../../errors/index.js';

/** The part of the ResourceStore the registry needs; tests pass a fake. */
export interface RegistryInput {
  list(kind?: string): Resource[];
  on(event: 'change', fn: () => void): unknown;
  off?(event: 'change', fn: () => void): unknown;
}

export interface RegistryOptions {
  /** SPIFFE trust domain of every workload identity. */
  trustDomain?: string;
  /** Cluster id written into workload uids and `cluster_id`. */
  clusterId?: string;
  /** Network of pods (WorkloadEntries may name their own). */
  network?: string;
  /** CIDR from which services without a clusterIP / ServiceEntries without addresses get a VIP. */
  vipRange?: string;
  /** When set, VIP allocations survive restarts in `<stateDir>/vips.json`. */
  stateDir?: string;
  /** Quiet period after a store change before recomputing, so a multi-document apply is one push. */
  debounceMs?: number;
}

/** Long enough to coalesce one `apply -f` of many documents, short enough to be invisible to a user. */
export const DEFAULT_DEBOUNCE_MS = 10;

export interface ResolvedOptions {
  trustDomain: string;
  clusterId: string;
  network: string;
  vipRange: string;
  stateDir: string | undefined;
  debounceMs: number;
}

export function resolveOptions(o: RegistryOptions): ResolvedOptions {
  const debounceMs = o.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  if (!Number.isFinite(debounceMs) || debounceMs < 0) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `registry option debounceMs must be a number >= 0, got ${String(o.debounceMs)}`);
  }
  const trustDomain = o.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  if (!trustDomain || trustDomain.includes('/')) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `registry option trustDomain must be a non-empty name without '/', got ${JSON.stringify(trustDomain)}`);
  }
  return {
    trustDomain,
    clusterId: o.clusterId ?? DEFAULT_CLUSTER_ID,
    network: o.network ?? '',
    vipRange: o.vipRange ?? DEFAULT_VIP_RANGE,
    stateDir: o.stateDir,
    debounceMs,
  };
}

export function serviceHostname(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}
