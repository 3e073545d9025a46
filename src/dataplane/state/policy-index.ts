// Indexes AuthorizationPolicies by scope so a workload's applicable policies are found without a scan.
import type { MeshAuthorization, MeshWorkload } from '../../api/mesh.js';

function byKey(a: [string, MeshAuthorization], b: [string, MeshAuthorization]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export class PolicyIndex {
  private readonly policies = new Map<string, MeshAuthorization>();
  private readonly global = new Set<string>();
  private readonly byNamespace = new Map<string, Set<string>>();

  clear(): void {
    this.policies.clear();
    this.global.clear();
    this.byNamespace.clear();
  }

  upsert(key: string, policy: MeshAuthorization): void {
    this.remove(key);
    this.policies.set(key, policy);
    if (policy.scope === 'GLOBAL') this.global.add(key);
    else if (policy.scope === 'NAMESPACE') {
      let keys = this.byNamespace.get(policy.namespace);
      if (!keys) this.byNamespace.set(policy.namespace, (keys = new Set()));
      keys.add(key);
    }
    // WORKLOAD_SELECTOR policies are reached only through workload.authorizationPolicies.
  }

  remove(key: string): void {
    const old = this.policies.get(key);
    if (!old) return;
    this.policies.delete(key);
    this.global.delete(key);
    const keys = this.byNamespace.get(old.namespace);
    keys?.delete(key);
    if (keys?.size === 0) this.byNamespace.delete(old.namespace);
  }

  get(key: string): MeshAuthorization | undefined {
    return this.policies.get(key);
  }

  /**
   * GLOBAL policies, NAMESPACE policies of the workload's namespace, and the selector policies the control
   * plane listed on the workload; each once, ordered by `namespace/name` so the deciding policy reported
   * for a connection is stable. Names the proxy has not (yet) received are skipped.
   */
  applicableTo(workload: MeshWorkload): MeshAuthorization[] {
    const found = new Map<string, MeshAuthorization>();
    for (const key of this.global) found.set(key, this.policies.get(key)!);
    for (const key of this.byNamespace.get(workload.namespace) ?? []) found.set(key, this.policies.get(key)!);
    for (const key of workload.authorizationPolicies) {
      const policy = this.policies.get(key);
      if (policy) found.set(key, policy);
    }
    return [...found].sort(byKey).map(([, policy]) => policy);
  }

  all(): MeshAuthorization[] {
    return [...this.policies].sort(byKey).map(([, policy]) => policy);
  }
}
