// Outbound endpoint selection: smooth weighted round robin over a service's healthy endpoints.
import { L4meshError } from '../errors/index.js';
import type { Endpoint } from './state/index.js';

// Istio's Workload.capacity: unset means an ordinary, equal share.
const DEFAULT_CAPACITY = 1;

/** No endpoint could take the connection; the outbound path answers 503 / closes the client socket. */
export class NoHealthyUpstreamError extends L4meshError {
  readonly serviceKey: string;
  readonly servicePort: number;
  constructor(serviceKey: string, servicePort: number) {
    super(
      'L4MESH_ERR_NO_HEALTHY_UPSTREAM',
      `no healthy endpoint for service ${serviceKey} port ${servicePort}: check that a workload backing it ` +
        `is running, HEALTHY and maps that port (l4mesh ztunnel-config services / workloads)`,
    );
    this.name = 'NoHealthyUpstreamError';
    this.serviceKey = serviceKey;
    this.servicePort = servicePort;
  }
}

/** Capacity as a weight: missing or non-numeric means the default, zero or negative means "never". */
export function weightOf(endpoint: Endpoint): number {
  const capacity = endpoint.workload.capacity as number | undefined;
  if (capacity === undefined || Number.isNaN(capacity)) return DEFAULT_CAPACITY;
  return capacity > 0 ? capacity : 0;
}

/**
 * Smooth weighted round robin (the nginx upstream algorithm): each pick adds every endpoint's weight to
 * its running score, takes the highest score (the first in list order on a tie) and lowers it by the
 * total weight. Picks interleave instead of bursting (3:1 gives a a b a, not a a a b), and N equal
 * endpoints are each picked exactly once per N picks.
 *
 * Scores are kept per service key and per workload uid, so a change to the endpoint set keeps the rotation
 * of the endpoints that remain; a removed endpoint's score is dropped, a new one starts at zero.
 */
export class RoundRobinBalancer {
  private readonly scores = new Map<string, Map<string, number>>();

  /**
   * With `skip`, endpoints it names (ejected, or already tried by this connection) are left out of this
   * pick; the caller decides what to do when that leaves none.
   */
  pick(serviceKey: string, all: readonly Endpoint[], skip?: (endpoint: Endpoint) => boolean): Endpoint | undefined {
    // Filtering allocates, so only when there is something to skip; the common pick stays allocation-free.
    const endpoints = skip ? all.filter((e) => !skip(e)) : all;
    if (endpoints.length === 0) {
      if (all.length === 0) this.scores.delete(serviceKey);
      return undefined;
    }
    let scores = this.scores.get(serviceKey);
    if (!scores) this.scores.set(serviceKey, (scores = new Map()));
    let total = 0;
    let weighted = 0;
    let best: Endpoint | undefined;
    let bestScore = -Infinity;
    for (const endpoint of endpoints) {
      const weight = weightOf(endpoint);
      if (weight === 0) continue;
      const uid = endpoint.workload.uid;
      const score = (scores.get(uid) ?? 0) + weight;
      scores.set(uid, score);
      total += weight;
      weighted++;
      if (score > bestScore) {
        best = endpoint;
        bestScore = score;
      }
    }
    // Skipped endpoints keep their place in the rotation; only endpoints gone from the set are dropped.
    if (!skip && scores.size > weighted) this.dropMissing(scores, endpoints);
    if (!best) return undefined;
    scores.set(best.workload.uid, bestScore - total);
    return best;
  }

  /** Forgets the rotation of a service (e.g. when it leaves the mesh). */
  forget(serviceKey: string): void {
    this.scores.delete(serviceKey);
  }

  /** Forgets every service not in `serviceKeys`, bounding memory to the services that still exist. */
  retainOnly(serviceKeys: ReadonlySet<string>): void {
    for (const key of this.scores.keys()) if (!serviceKeys.has(key)) this.scores.delete(key);
  }

  // Only runs after the endpoint set shrank (or capacities dropped to 0), so the common pick stays allocation-free.
  private dropMissing(scores: Map<string, number>, endpoints: readonly Endpoint[]): void {
    const live = new Set<string>();
    for (const endpoint of endpoints) if (weightOf(endpoint) > 0) live.add(endpoint.workload.uid);
    for (const uid of scores.keys()) if (!live.has(uid)) scores.delete(uid);
  }
}

/** What `selectEndpoint` needs from the proxy state. */
export interface EndpointSource {
  endpointsOf(serviceKey: string, servicePort: number): readonly Endpoint[];
}

/**
 * The next endpoint of `serviceKey` on `servicePort` that `skip` does not name; throws NoHealthyUpstreamError
 * when there is none.
 */
export function selectEndpoint(
  state: EndpointSource,
  balancer: RoundRobinBalancer,
  serviceKey: string,
  servicePort: number,
  skip?: (endpoint: Endpoint) => boolean,
): Endpoint {
  const endpoint = balancer.pick(serviceKey, state.endpointsOf(serviceKey, servicePort), skip);
  if (!endpoint) throw new NoHealthyUpstreamError(serviceKey, servicePort);
  return endpoint;
}
