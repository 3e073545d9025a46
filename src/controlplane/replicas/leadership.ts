// Which replica does the work that must happen once (recording node proxies as Pods, releasing VIPs):
// with several replicas on etcd, the one elected through an etcd lease; alone, always this process.
import { EventEmitter } from 'node:events';
import type { Campaign, Etcd3 } from 'etcd3';
import { ETCD_PREFIX } from '../store/etcd-connection.js';

/**
 * The leader's lease lives this long without a keepalive (sent every third of it), so a killed leader's
 * work moves to another replica within about this many seconds; 2 s is etcd's smallest lease.
 */
export const LEADER_LEASE_TTL_SECONDS = 2;
/** After a failed campaign (etcd unreachable, lease lost), the next one starts this much later. */
export const LEADER_RETRY_DELAY_MS = 500;
/** The etcd election every replica campaigns in (its keys live under /l4mesh/election/<name>/). */
export const LEADER_ELECTION_NAME = 'l4mesh-control-plane';

/** Emits `'change'(isLeader)` whenever this replica gains or loses leadership. */
export interface Leadership extends EventEmitter {
  isLeader(): boolean;
  close(): Promise<void>;
}

/** The file store's single control plane: always the leader. */
export class SoleLeader extends EventEmitter implements Leadership {
  isLeader(): boolean {
    return true;
  }

  async close(): Promise<void> {}
}

export class EtcdLeadership extends EventEmitter implements Leadership {
  private leader = false;
  private campaign: Campaign | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /** Starts campaigning at once with `identity` (what other replicas and operators see as the leader). */
  constructor(
    private readonly client: Etcd3,
    readonly identity: string,
    private readonly log: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void,
  ) {
    super();
    this.run();
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** Resigns, so another replica takes over at once instead of after the lease expires. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.campaign;
    this.campaign = undefined;
    this.set(false);
    await c?.resign().catch(() => undefined);
  }

  private run(): void {
    if (this.closed) return;
    const campaign = this.client.namespace(ETCD_PREFIX).election(LEADER_ELECTION_NAME, LEADER_LEASE_TTL_SECONDS).campaign(this.identity);
    this.campaign = campaign;
    campaign.on('elected', () => {
      if (this.campaign === campaign) this.set(true);
    });
    campaign.on('error', (err: Error) => {
      if (this.campaign !== campaign) return;
      this.campaign = undefined;
      if (this.leader) this.log('warn', 'lost the leadership of the control plane replicas; campaigning again', { error: err.message });
      this.set(false);
      campaign.resign().catch(() => undefined);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.run();
      }, LEADER_RETRY_DELAY_MS);
      this.retryTimer.unref();
    });
  }

  private set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    if (leader) this.log('info', 'this replica is now the leader: it records node proxies and releases VIPs', { identity: this.identity });
    this.emit('change', leader);
  }
}
