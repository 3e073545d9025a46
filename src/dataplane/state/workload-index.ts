// Indexes over workloads (by uid, address, node, backed service) that can be patched one workload at a time.
import type { MeshWorkload } from '../../api/mesh.js';
import { canonicalIp } from './addresses.js';

function compareUid(a: MeshWorkload, b: MeshWorkload): number {
  return a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0;
}

function addTo(map: Map<string, Set<string>>, key: string, uid: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(uid);
}

function deleteFrom(map: Map<string, Set<string>>, key: string, uid: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(uid);
  if (set.size === 0) map.delete(key);
}

// Addresses are near-unique, so each maps to a plain array (almost always of one uid): cheaper to build
// than a Set when a full rebuild indexes 10,000 workloads.
function addAddress(map: Map<string, string[]>, ip: string, uid: string): void {
  const uids = map.get(ip);
  if (!uids) map.set(ip, [uid]);
  else if (!uids.includes(uid)) uids.push(uid);
}

function deleteAddress(map: Map<string, string[]>, ip: string, uid: string): void {
  const uids = map.get(ip);
  if (!uids) return;
  const at = uids.indexOf(uid);
  if (at >= 0) uids.splice(at, 1);
  if (uids.length === 0) map.delete(ip);
}

export class WorkloadIndex {
  private readonly byUid = new Map<string, MeshWorkload>();
  private readonly byAddress = new Map<string, string[]>();
  private readonly byNode = new Map<string, Set<string>>();
  private readonly byService = new Map<string, Set<string>>();
  // Sorted views are built on first read and dropped when a member changes, so a burst of xDS updates
  // costs one sort per group that is actually read, not one per update.
  private readonly sortedByNode = new Map<string, MeshWorkload[]>();
  private readonly sortedByService = new Map<string, MeshWorkload[]>();

  get size(): number {
    return this.byUid.size;
  }

  clear(): void {
    this.byUid.clear();
    this.byAddress.clear();
    this.byNode.clear();
    this.byService.clear();
    this.sortedByNode.clear();
    this.sortedByService.clear();
  }

  /** Inserts or replaces the workload with this uid. Returns the service keys whose members changed. */
  upsert(workload: MeshWorkload): string[] {
    const touched = this.byUid.has(workload.uid) ? this.remove(workload.uid) : [];
    const uid = workload.uid;
    this.byUid.set(uid, workload);
    for (const address of workload.addresses) addAddress(this.byAddress, canonicalIp(address), uid);
    addTo(this.byNode, workload.node, uid);
    this.sortedByNode.delete(workload.node);
    for (const serviceKey of Object.keys(workload.services)) {
      addTo(this.byService, serviceKey, uid);
      this.sortedByService.delete(serviceKey);
      touched.push(serviceKey);
    }
    return touched;
  }

  /** Removes the workload with this uid if present. Returns the service keys whose members changed. */
  remove(uid: string): string[] {
    const old = this.byUid.get(uid);
    if (!old) return [];
    this.byUid.delete(uid);
    for (const address of old.addresses) deleteAddress(this.byAddress, canonicalIp(address), uid);
    deleteFrom(this.byNode, old.node, uid);
    this.sortedByNode.delete(old.node);
    const touched = Object.keys(old.services);
    for (const serviceKey of touched) {
      deleteFrom(this.byService, serviceKey, uid);
      this.sortedByService.delete(serviceKey);
    }
    return touched;
  }

  get(uid: string): MeshWorkload | undefined {
    return this.byUid.get(uid);
  }

  /**
   * Two workloads can briefly share an IP (a pod replaced by one that got the same address); the healthy
   * one wins, then the smaller uid, so the answer does not depend on the order updates arrived in.
   */
  byIp(ip: string): MeshWorkload | undefined {
    const uids = this.byAddress.get(canonicalIp(ip));
    if (!uids) return undefined;
    let best: MeshWorkload | undefined;
    for (const uid of uids) {
      const w = this.byUid.get(uid)!;
      if (!best) best = w;
      else if ((w.status === 'HEALTHY') !== (best.status === 'HEALTHY')) {
        if (w.status === 'HEALTHY') best = w;
      } else if (w.uid < best.uid) best = w;
    }
    return best;
  }

  /** Every workload scheduled on the node, healthy or not, ordered by uid. */
  onNode(node: string): readonly MeshWorkload[] {
    return this.sorted(this.byNode, this.sortedByNode, node);
  }

  /** Every workload that lists the service (healthy or not), ordered by uid. */
  backing(serviceKey: string): readonly MeshWorkload[] {
    return this.sorted(this.byService, this.sortedByService, serviceKey);
  }

  all(): MeshWorkload[] {
    return [...this.byUid.values()].sort(compareUid);
  }

  private sorted(
    members: Map<string, Set<string>>,
    cache: Map<string, MeshWorkload[]>,
    key: string,
  ): readonly MeshWorkload[] {
    const cached = cache.get(key);
    if (cached) return cached;
    const uids = members.get(key);
    if (!uids) return [];
    const list = [...uids].map((uid) => this.byUid.get(uid)!).sort(compareUid);
    cache.set(key, list);
    return list;
  }
}
