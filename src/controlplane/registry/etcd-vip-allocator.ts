// Service VIPs shared by every replica through etcd: a key per service and a key per address, created
// together in one compare-and-swap transaction, so two replicas never hand out one address twice.
import type { EtcdEntry, EtcdStore } from '../store/etcd-store.js';
import { ETCD_PREFIX, unavailable } from '../store/etcd-connection.js';
import { parseIpv4, parseVipRange, toIp, type VipAllocations } from './vip-allocator.js';

/** `<prefix><namespace>/<hostname>` → address. */
export const VIPS_BY_SERVICE_PREFIX = `${ETCD_PREFIX}vips/service/`;
/** `<prefix><address>` → `<namespace>/<hostname>`: the key whose create-if-absent makes an address unique. */
export const VIPS_BY_ADDRESS_PREFIX = `${ETCD_PREFIX}vips/address/`;
/**
 * An allocation whose transaction lost (another replica took that address first) is recomputed from the
 * newer state; each loss means another allocation succeeded, so a few dozen attempts always suffice.
 */
export const MAX_VIP_TXN_ATTEMPTS = 32;
/** After etcd failed an allocation, it is tried again this much later (the registry keeps the service without a VIP meanwhile). */
export const VIP_RETRY_DELAY_MS = 1_000;

export class EtcdVipAllocator implements VipAllocations {
  exhausted: string[] = [];
  pending: ReadonlySet<string> = new Set();
  /** The last error etcd gave an allocation or release, until one succeeds (for registryz). */
  lastError: string | undefined;
  private readonly base: number;
  private readonly first: number;
  private readonly last: number;
  private readonly listeners: Array<() => void> = [];
  private wanted = new Set<string>();
  private reserved: ReadonlySet<string> = new Set();
  private readonly full = new Set<string>();
  private running = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onEntries = (keys: string[]): void => {
    if (!keys.some((k) => k.startsWith(VIPS_BY_SERVICE_PREFIX))) return;
    for (const fn of this.listeners) fn();
  };

  /** `mayRelease` says whether this replica is the one that frees the addresses of deleted services (the leader). */
  constructor(
    readonly range: string,
    private readonly store: EtcdStore,
    private readonly mayRelease: () => boolean,
  ) {
    const { base, prefix } = parseVipRange(range);
    const size = 2 ** (32 - prefix);
    this.base = base;
    this.first = size > 2 ? 1 : 0;
    this.last = size > 2 ? size - 2 : size - 1;
    store.on('entries', this.onEntries);
  }

  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.store.off('entries', this.onEntries);
  }

  /** Every allocation in etcd that lies in this replica's range, service key → address. */
  allocations(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, e] of this.store.entries(VIPS_BY_SERVICE_PREFIX)) if (this.inRange(e.value)) out.set(k.slice(VIPS_BY_SERVICE_PREFIX.length), e.value);
    return out;
  }

  /**
   * Returns the allocations etcd holds for `keys`; keys without one (or whose address is now claimed
   * explicitly) are allocated in the background, and the registry recomputes when they arrive.
   */
  sync(keys: Iterable<string>, reserved: ReadonlySet<string> = new Set()): Map<string, string> {
    this.wanted = new Set(keys);
    this.reserved = reserved;
    const known = this.allocations();
    const out = new Map<string, string>();
    let work = false;
    for (const k of [...this.wanted].sort()) {
      const ip = known.get(k);
      if (ip !== undefined && !reserved.has(ip)) out.set(k, ip);
      else work = true;
    }
    if (this.mayRelease() && [...known.keys()].some((k) => !this.wanted.has(k))) work = true;
    this.exhausted = [...this.full].filter((k) => this.wanted.has(k) && !out.has(k));
    // Not yet allocated and not known to be impossible: the allocation is on its way (or etcd is down).
    this.pending = new Set([...this.wanted].filter((k) => !out.has(k) && !this.full.has(k)));
    if (work) this.kick();
    return out;
  }

  /** Runs allocation and release now (e.g. when this replica became the leader). */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.reconcile().finally(() => {
      this.running = false;
    });
  }

  private async reconcile(): Promise<void> {
    do {
      this.again = false;
      try {
        const known = this.allocations();
        for (const k of [...this.wanted].sort()) {
          const ip = known.get(k);
          if (ip === undefined || this.reserved.has(ip)) await this.allocate(k);
        }
        if (this.mayRelease()) for (const k of this.allocations().keys()) if (!this.wanted.has(k)) await this.release(k);
        this.lastError = undefined;
      } catch (err) {
        this.lastError = (err as Error).message;
        if (!this.retryTimer && !this.closed) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.kick();
          }, VIP_RETRY_DELAY_MS);
          this.retryTimer.unref();
        }
        return;
      }
    } while (this.again && !this.closed);
  }

  /** Gives `key` the lowest free address in one transaction: its own key and the address's key both created (or moved) at once. */
  private async allocate(key: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_VIP_TXN_ATTEMPTS; attempt++) {
      const current = this.store.entries(VIPS_BY_SERVICE_PREFIX).get(VIPS_BY_SERVICE_PREFIX + key);
      if (current && this.inRange(current.value) && !this.reserved.has(current.value)) {
        this.full.delete(key);
        return;
      }
      const ip = this.lowestFree();
      if (ip === undefined) {
        this.full.add(key);
        return;
      }
      this.full.delete(key);
      const client = this.store.etcd;
      const txn = client.if(VIPS_BY_ADDRESS_PREFIX + ip, 'Create', '==', 0);
      if (current) txn.and(VIPS_BY_SERVICE_PREFIX + key, 'Mod', '==', current.modRevision);
      else txn.and(VIPS_BY_SERVICE_PREFIX + key, 'Create', '==', 0);
      const ops: Array<ReturnType<typeof client.put> | ReturnType<typeof client.delete>> = [
        client.put(VIPS_BY_SERVICE_PREFIX + key).value(ip),
        client.put(VIPS_BY_ADDRESS_PREFIX + ip).value(key),
      ];
      // A move (the old address now claimed explicitly, or outside a changed range) frees the old address in the same transaction.
      const oldAddress = current ? this.addressEntry(current.value, key) : undefined;
      if (current && oldAddress) {
        txn.and(VIPS_BY_ADDRESS_PREFIX + current.value, 'Mod', '==', oldAddress.modRevision);
        ops.push(client.delete().key(VIPS_BY_ADDRESS_PREFIX + current.value));
      }
      if (await this.commit(txn.then(...ops), 'allocate a service VIP')) return;
    }
  }

  /** Frees the address of a service that no longer needs one; a concurrent change of that key wins. */
  private async release(key: string): Promise<void> {
    const current = this.store.entries(VIPS_BY_SERVICE_PREFIX).get(VIPS_BY_SERVICE_PREFIX + key);
    if (!current) return;
    const client = this.store.etcd;
    const txn = client.if(VIPS_BY_SERVICE_PREFIX + key, 'Mod', '==', current.modRevision);
    const ops = [client.delete().key(VIPS_BY_SERVICE_PREFIX + key)];
    const address = this.addressEntry(current.value, key);
    if (address) {
      txn.and(VIPS_BY_ADDRESS_PREFIX + current.value, 'Mod', '==', address.modRevision);
      ops.push(client.delete().key(VIPS_BY_ADDRESS_PREFIX + current.value));
    }
    await this.commit(txn.then(...ops), 'release a service VIP');
  }

  /** Commits and waits until this replica's watch has the outcome (the winner's keys, on a lost race). */
  private async commit(txn: ReturnType<EtcdStore['etcd']['if']>, doing: string): Promise<boolean> {
    let res;
    try {
      res = await txn.commit();
    } catch (err) {
      throw unavailable(this.store.endpoints, doing, err);
    }
    await this.store.caughtUp(Number(res.header.revision));
    return res.succeeded;
  }

  /** The address key of `ip` if it belongs to `key`. */
  private addressEntry(ip: string, key: string): EtcdEntry | undefined {
    const e = this.store.entries(VIPS_BY_ADDRESS_PREFIX).get(VIPS_BY_ADDRESS_PREFIX + ip);
    return e?.value === key ? e : undefined;
  }

  private lowestFree(): string | undefined {
    const used = new Set<string>(this.reserved);
    for (const k of this.store.entries(VIPS_BY_ADDRESS_PREFIX).keys()) used.add(k.slice(VIPS_BY_ADDRESS_PREFIX.length));
    for (let off = this.first; off <= this.last; off++) {
      const ip = toIp(this.base + off);
      if (!used.has(ip)) return ip;
    }
    return undefined;
  }

  private inRange(ip: string): boolean {
    const n = parseIpv4(ip);
    return n !== undefined && n - this.base >= this.first && n - this.base <= this.last;
  }
}
