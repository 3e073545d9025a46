// Endpoints for the balancer tests: one per name, capacity as given.
import type { Endpoint } from '../../../src/dataplane/state/index.js';
import { workload } from '../state/snapshot-fixture.js';

export function endpoint(name: string, capacity = 1): Endpoint {
  return { workload: workload(name, { capacity }), targetPort: 8080 };
}

/** How many times each workload name was picked in `count` sequential picks, and the pick sequence. */
export function tally(pick: () => Endpoint | undefined, count: number): { counts: Record<string, number>; order: string[] } {
  const counts: Record<string, number> = {};
  const order: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = pick()?.workload.name ?? '<none>';
    counts[name] = (counts[name] ?? 0) + 1;
    order.push(name);
  }
  return { counts, order };
}
