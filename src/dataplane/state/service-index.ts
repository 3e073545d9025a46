// Indexes over services (by `namespace/hostname` key, VIP, hostname, namespace), patched one service at a time.
import type { MeshService } from '../../api/mesh.js';
import { canonicalIp } from './addresses.js';

function addTo(map: Map<string, Set<string>>, key: string, member: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(member);
}

function deleteFrom(map: Map<string, Set<string>>, key: string, member: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(member);
  if (set.size === 0) map.delete(key);
}

/** Smallest key of a set: the tie-break when two services claim the same VIP or hostname. */
function firstKey(keys: Set<string> | undefined): string | undefined {
  if (!keys) return undefined;
  let best: string | undefined;
  for (const key of keys) if (best === undefined || key < best) best = key;
  return best;
}

/** Orders by namespace, then name, then hostname (ServiceEntries may share a name across hosts). */
export function compareServices(a: MeshService, b: MeshService): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0;
}

export class ServiceIndex {
  private readonly byKey = new Map<string, MeshService>();
  private readonly byVip = new Map<string, Set<string>>();
  private readonly byHostname = new Map<string, Set<string>>();
  private readonly byNamespace = new Map<string, Set<string>>();
  private sortedAll: MeshService[] | undefined;

  clear(): void {
    this.byKey.clear();
    this.byVip.clear();
    this.byHostname.clear();
    this.byNamespace.clear();
    this.sortedAll = undefined;
  }

  upsert(key: string, service: MeshService): void {
    this.remove(key);
    this.byKey.set(key, service);
    for (const vip of service.addresses) addTo(this.byVip, canonicalIp(vip), key);
    addTo(this.byHostname, service.hostname, key);
    addTo(this.byNamespace, service.namespace, key);
    this.sortedAll = undefined;
  }

  remove(key: string): void {
    const old = this.byKey.get(key);
    if (!old) return;
    this.byKey.delete(key);
    for (const vip of old.addresses) deleteFrom(this.byVip, canonicalIp(vip), key);
    deleteFrom(this.byHostname, old.hostname, key);
    deleteFrom(this.byNamespace, old.namespace, key);
    this.sortedAll = undefined;
  }

  get(key: string): MeshService | undefined {
    return this.byKey.get(key);
  }

  byAddress(vip: string): MeshService | undefined {
    const key = firstKey(this.byVip.get(canonicalIp(vip)));
    return key === undefined ? undefined : this.byKey.get(key);
  }

  hostname(hostname: string): MeshService | undefined {
    const key = firstKey(this.byHostname.get(hostname));
    return key === undefined ? undefined : this.byKey.get(key);
  }

  inNamespace(namespace: string): MeshService[] {
    const keys = this.byNamespace.get(namespace);
    if (!keys) return [];
    return [...keys].map((key) => this.byKey.get(key)!).sort(compareServices);
  }

  all(): readonly MeshService[] {
    this.sortedAll ??= [...this.byKey.values()].sort(compareServices);
    return this.sortedAll;
  }
}
