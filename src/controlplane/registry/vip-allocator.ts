// Hands out virtual IPs to services that have none of their own, stable across recomputes and (with a
// state directory) across control-plane restarts, so proxies and workloads never see a VIP move.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { L4meshError } from '../../errors/index.js';
import { DEFAULT_VIP_RANGE } from '../../config/mesh-constants.js';
import { vipsFile } from '../../config/state-layout.js';

interface PersistedVips {
  range: string;
  /** key (`<namespace>/<hostname>`) → IPv4 address */
  allocations: Record<string, string>;
}

/** What the registry needs from a VIP allocator: the file-backed one below, or the shared one on etcd. */
export interface VipAllocations {
  readonly range: string;
  /** Keys that did not get an address in the last sync because the range is full. */
  exhausted: string[];
  /**
   * Keys whose address is being allocated elsewhere (etcd) and not known yet: their services are left
   * out until it is, so proxies never see such a service first without its VIP, then with it.
   */
  pending?: ReadonlySet<string>;
  allocations(): Map<string, string>;
  /** Makes the allocation set `keys` (see VipAllocator.sync); returns the allocations known now. */
  sync(keys: Iterable<string>, reserved?: ReadonlySet<string>): Map<string, string>;
  /** Allocations that change outside sync (another replica's) call `fn`, so the registry recomputes. */
  onChange?(fn: () => void): void;
  close?(): void;
}

export class VipAllocator implements VipAllocations {
  private readonly base: number;
  private readonly size: number;
  private readonly first: number;
  private readonly last: number;
  private readonly byKey = new Map<string, number>();
  private readonly byOffset = new Map<number, string>();
  /** Keys that did not get an address in the last sync because the range is full. */
  exhausted: string[] = [];

  constructor(
    readonly range: string,
    private readonly stateDir?: string,
  ) {
    const parsed = parseVipRange(range);
    this.base = parsed.base;
    this.size = 2 ** (32 - parsed.prefix);
    // Skip the network and broadcast addresses where the range is big enough to have them.
    this.first = this.size > 2 ? 1 : 0;
    this.last = this.size > 2 ? this.size - 2 : this.size - 1;
    if (stateDir) this.load();
  }

  /** The current allocations, key → address. */
  allocations(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, off] of this.byKey) out.set(k, toIp(this.base + off));
    return out;
  }

  /**
   * Makes the allocation set exactly `keys`: keeps existing addresses, releases those of keys no longer
   * present, allocates the lowest free address to new keys (in sorted order, so a recompute from the
   * same input allocates the same way). `reserved` are addresses services claim explicitly (clusterIP);
   * an allocation colliding with one moves. Persists when anything changed.
   */
  sync(keys: Iterable<string>, reserved: ReadonlySet<string> = new Set()): Map<string, string> {
    const wanted = new Set(keys);
    let changed = false;
    for (const [k, off] of [...this.byKey]) {
      if (!wanted.has(k) || reserved.has(toIp(this.base + off))) {
        this.byKey.delete(k);
        this.byOffset.delete(off);
        changed = true;
      }
    }
    this.exhausted = [];
    let cursor = this.first;
    for (const k of [...wanted].sort()) {
      if (this.byKey.has(k)) continue;
      while (cursor <= this.last && (this.byOffset.has(cursor) || reserved.has(toIp(this.base + cursor)))) cursor++;
      if (cursor > this.last) {
        this.exhausted.push(k);
        continue;
      }
      this.byKey.set(k, cursor);
      this.byOffset.set(cursor, k);
      changed = true;
    }
    if (changed) this.save();
    return this.allocations();
  }

  private load(): void {
    const file = vipsFile(this.stateDir!);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new L4meshError('L4MESH_ERR_STORE', `cannot read VIP allocations ${file}: ${(err as Error).message}; check its permissions`, { cause: err });
    }
    let data: PersistedVips;
    try {
      data = JSON.parse(text) as PersistedVips;
      if (!data || typeof data.allocations !== 'object' || data.allocations === null) throw new Error('no "allocations" object');
    } catch (err) {
      throw new L4meshError(
        'L4MESH_ERR_STORE',
        `VIP allocations ${file} are corrupt (${(err as Error).message}); remove the file to reallocate VIPs (services may get new addresses)`,
        { cause: err },
      );
    }
    for (const [k, ip] of Object.entries(data.allocations)) {
      const n = typeof ip === 'string' ? parseIpv4(ip) : undefined;
      if (n === undefined) continue;
      const off = n - this.base;
      // Allocations from a different --vip-range are dropped; those services get a new address.
      if (off < this.first || off > this.last || this.byOffset.has(off)) continue;
      this.byKey.set(k, off);
      this.byOffset.set(off, k);
    }
  }

  private save(): void {
    if (!this.stateDir) return;
    mkdirSync(this.stateDir, { recursive: true });
    const file = vipsFile(this.stateDir);
    const tmp = `${file}.${process.pid}.tmp`;
    const data: PersistedVips = { range: this.range, allocations: Object.fromEntries([...this.allocations()].sort()) };
    try {
      // Write-then-rename: a crash leaves either the old or the new file, never half of one.
      writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o644 });
      renameSync(tmp, file);
    } catch (err) {
      throw new L4meshError('L4MESH_ERR_STORE', `cannot write VIP allocations ${file}: ${(err as Error).message}; check the state directory is writable`, { cause: err });
    }
  }
}

export function parseVipRange(range: string): { base: number; prefix: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(range);
  const ip = m ? parseIpv4(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `registry option vipRange must be an IPv4 CIDR such as ${DEFAULT_VIP_RANGE}, got ${JSON.stringify(range)}`);
  }
  const hostBits = 32 - prefix;
  const base = hostBits === 32 ? 0 : Math.floor(ip / 2 ** hostBits) * 2 ** hostBits;
  return { base, prefix };
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function toIp(n: number): string {
  return [Math.floor(n / 2 ** 24) % 256, Math.floor(n / 2 ** 16) % 256, Math.floor(n / 256) % 256, n % 256].join('.');
}
