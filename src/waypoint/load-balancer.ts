// Endpoint selection inside a (service, subset): DestinationRule subsets by labels, and the
// ROUND_ROBIN / RANDOM / LEAST_REQUEST policies of trafficPolicy.loadBalancer.simple.
import { RoundRobinBalancer, weightOf } from '../dataplane/lb.js';
import type { Endpoint } from '../dataplane/state/proxy-state.js';
import type { CompiledSubset, LbPolicy } from './route-config.js';

/**
 * The endpoints a subset selects: every label of the subset must be on the workload. Only the labels the
 * Workload resource carries are known here (app, version, canonical name/revision — see the registry's
 * TELEMETRY_LABELS), which is what Istio's own samples select subsets by.
 */
export function subsetEndpoints(endpoints: readonly Endpoint[], subset: CompiledSubset | undefined): readonly Endpoint[] {
  if (!subset) return endpoints;
  const want = Object.entries(subset.labels);
  if (want.length === 0) return endpoints;
  return endpoints.filter((e) => want.every(([k, v]) => e.workload.labels?.[k] === v));
}

/** One balancer for the whole waypoint; keys are `<service>|<subset>|<port>` so rotations stay apart. */
export class PolicyBalancer {
  private readonly roundRobin = new RoundRobinBalancer();
  /** Requests in flight per workload uid, for LEAST_REQUEST. */
  private readonly active = new Map<string, number>();

  /** `random` returns [0, 1); injectable so tests get exact picks. */
  constructor(private readonly random: () => number = Math.random) {}

  pick(key: string, endpoints: readonly Endpoint[], policy: LbPolicy): Endpoint | undefined {
    const usable = endpoints.filter((e) => weightOf(e) > 0);
    if (usable.length === 0) return undefined;
    switch (policy) {
      case 'ROUND_ROBIN':
        return this.roundRobin.pick(key, usable);
      case 'RANDOM':
        return this.weightedRandom(usable);
      case 'LEAST_REQUEST':
        return this.leastRequest(usable);
    }
  }

  /** Marks a request to `endpoint` as started; call the returned function once when it ends. */
  begin(endpoint: Endpoint): () => void {
    const uid = endpoint.workload.uid;
    this.active.set(uid, (this.active.get(uid) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.active.get(uid) ?? 1) - 1;
      if (n <= 0) this.active.delete(uid);
      else this.active.set(uid, n);
    };
  }

  activeRequests(uid: string): number {
    return this.active.get(uid) ?? 0;
  }

  private weightedRandom(endpoints: readonly Endpoint[]): Endpoint {
    let total = 0;
    for (const e of endpoints) total += weightOf(e);
    let r = this.random() * total;
    for (const e of endpoints) {
      r -= weightOf(e);
      if (r < 0) return e;
    }
    return endpoints[endpoints.length - 1]!;
  }

  /**
   * Power of two choices: two distinct random endpoints, the one with fewer requests in flight wins (the
   * first drawn on a tie). With one endpoint there is nothing to choose.
   */
  private leastRequest(endpoints: readonly Endpoint[]): Endpoint {
    if (endpoints.length === 1) return endpoints[0]!;
    const n = endpoints.length;
    const i = Math.min(n - 1, Math.floor(this.random() * n));
    // The second draw is over the other n-1 endpoints, so the two choices always differ.
    let j = Math.min(n - 2, Math.floor(this.random() * (n - 1)));
    if (j >= i) j++;
    const a = endpoints[i]!;
    const b = endpoints[j]!;
    return this.activeRequests(b.workload.uid) < this.activeRequests(a.workload.uid) ? b : a;
  }
}
