// Which proxies are connected to which replica: alone, this process's own streams; on etcd, one key per
// proxy attached to the lease of the replica it streams from, so a killed replica's proxies vanish.
import { EventEmitter } from 'node:events';
import type { Lease } from 'etcd3';
import type { ProxyInfo } from '../registry/source.js';
import type { EtcdStore } from '../store/etcd-store.js';
import { ETCD_PREFIX } from '../store/etcd-connection.js';

/** `<prefix><namespace>/<name>` → PresenceRecord (JSON), attached to the replica's lease. */
export const PROXIES_PREFIX = `${ETCD_PREFIX}proxies/`;
/**
 * A replica that dies without saying goodbye keeps its proxies listed this long; they reconnect to
 * another replica (which re-announces them) well within it, so the listing stays right.
 */
export const PRESENCE_LEASE_TTL_SECONDS = 5;
/** After losing its lease (etcd unreachable longer than the TTL) a replica asks for a new one this often. */
export const PRESENCE_REGRANT_DELAY_MS = 1_000;
/**
 * A proxy that left while etcd was unreachable is withdrawn once it answers: tried every
 * PRESENCE_REGRANT_DELAY_MS this many times (a minute), since the replica's live lease would keep it.
 */
export const WITHDRAW_ATTEMPTS = 60;

export interface PresenceRecord {
  proxy: ProxyInfo;
  /** `<address>:<grpc port>` of the replica the proxy streams xDS from. */
  replica: string;
  connectedAt: string;
}

/** Emits `'change'` when the list changed; `announce` resolves to the function that withdraws that stream. */
export interface ProxyPresence extends EventEmitter {
  announce(proxy: ProxyInfo): Promise<() => Promise<void>>;
  list(): PresenceRecord[];
  close(): Promise<void>;
}

/** The file store's single control plane: its own streams, in memory. */
export class LocalPresence extends EventEmitter implements ProxyPresence {
  private readonly records = new Map<string, PresenceRecord>();

  constructor(private readonly replica: string) {
    super();
  }

  async announce(proxy: ProxyInfo): Promise<() => Promise<void>> {
    const record: PresenceRecord = { proxy, replica: this.replica, connectedAt: new Date().toISOString() };
    this.records.set(proxy.proxyId, record);
    this.emit('change');
    return async () => {
      // A newer stream of the same proxy (it reconnected before this one ended) keeps its record.
      if (this.records.get(proxy.proxyId) !== record) return;
      this.records.delete(proxy.proxyId);
      this.emit('change');
    };
  }

  list(): PresenceRecord[] {
    return [...this.records.values()];
  }

  async close(): Promise<void> {}
}

export class EtcdPresence extends EventEmitter implements ProxyPresence {
  private lease: Lease;
  /** This replica's records, re-written under a new lease when the old one was lost. */
  private readonly mine = new Map<string, string>();
  private closed = false;
  private readonly onEntries = (keys: string[]): void => {
    if (keys.some((k) => k.startsWith(PROXIES_PREFIX))) this.emit('change');
  };

  constructor(
    private readonly store: EtcdStore,
    private readonly replica: string,
    private readonly log: (level: 'warn', message: string, fields?: Record<string, unknown>) => void,
  ) {
    super();
    this.lease = this.grant();
    store.on('entries', this.onEntries);
  }

  async announce(proxy: ProxyInfo): Promise<() => Promise<void>> {
    const key = `${PROXIES_PREFIX}${proxy.namespace}/${proxy.name}`;
    const value = JSON.stringify({ proxy, replica: this.replica, connectedAt: new Date().toISOString() } satisfies PresenceRecord);
    this.mine.set(key, value);
    await this.lease.put(key).value(value);
    return async () => {
      if (this.mine.get(key) !== value) return;
      this.mine.delete(key);
      // Only this stream's record: another replica (or a newer stream) may have written the key since.
      for (let attempt = 0; attempt < WITHDRAW_ATTEMPTS && !this.closed; attempt++) {
        try {
          await this.store.etcd.if(key, 'Value', '==', value).then(this.store.etcd.delete().key(key)).commit();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, PRESENCE_REGRANT_DELAY_MS).unref());
        }
      }
    };
  }

  list(): PresenceRecord[] {
    const out: PresenceRecord[] = [];
    for (const e of this.store.entries(PROXIES_PREFIX).values()) {
      try {
        out.push(JSON.parse(e.value) as PresenceRecord);
      } catch {
        // not written by l4mesh: ignored
      }
    }
    return out;
  }

  /** Revokes the lease: this replica's proxies leave the list at once (they are reconnecting elsewhere). */
  async close(): Promise<void> {
    this.closed = true;
    this.store.off('entries', this.onEntries);
    await this.lease.revoke().catch(() => undefined);
  }

  private grant(): Lease {
    const lease = this.store.etcd.lease(PRESENCE_LEASE_TTL_SECONDS);
    lease.on('lost', (err: Error) => {
      if (this.closed || lease !== this.lease) return;
      this.log('warn', 'lost the etcd lease of this replica\'s proxy list; taking a new one', { error: err.message });
      setTimeout(() => this.regrant(), PRESENCE_REGRANT_DELAY_MS).unref();
    });
    lease.grant().catch(() => undefined);
    return lease;
  }

  private regrant(): void {
    if (this.closed) return;
    this.lease = this.grant();
    for (const [key, value] of this.mine) this.lease.put(key).value(value).catch(() => undefined);
  }
}
