// The leader's once-only work on node proxies: every connected node proxy recorded as a Running Pod
// (naming the replica it streams from when there are several), and that name removed once it is gone.
import type { MeshStore } from '../store/mesh-store.js';
import type { ProxyInfo } from '../registry/source.js';
import { CONTROL_PLANE_ANNOTATION, NODE_PROXY_PREFIX, registerNodeProxy } from '../proxy-admission.js';
import type { Leadership } from './leadership.js';
import type { ProxyPresence } from './proxy-presence.js';

/** A pass that failed (the store unreachable) is run again this much later. */
export const RECORD_RETRY_DELAY_MS = 1_000;

export interface NodeProxyRecorderOptions {
  /** Write which replica each proxy streams from (several replicas); alone there is nothing to tell. */
  annotateReplica: boolean;
  log: (level: 'error', message: string, fields?: Record<string, unknown>) => void;
}

export class NodeProxyRecorder {
  private running = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly kick = (): void => {
    if (this.closed || !this.leadership.isLeader()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
    });
  };

  constructor(
    private readonly store: MeshStore,
    private readonly presence: ProxyPresence,
    private readonly leadership: Leadership,
    private readonly options: NodeProxyRecorderOptions,
  ) {
    presence.on('change', this.kick);
    leadership.on('change', this.kick);
    this.kick();
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.presence.off('change', this.kick);
    this.leadership.off('change', this.kick);
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.pass();
      } catch (err) {
        this.options.log('error', 'cannot record the node proxies as Pods; retrying', { error: err });
        if (!this.retryTimer) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.kick();
          }, RECORD_RETRY_DELAY_MS);
          this.retryTimer.unref();
        }
        return;
      }
    } while (this.again && !this.closed && this.leadership.isLeader());
  }

  private async pass(): Promise<void> {
    const present = new Set<string>();
    for (const r of this.presence.list()) {
      present.add(r.proxy.proxyId);
      await registerNodeProxy(this.store, r.proxy, this.options.annotateReplica ? r.replica : undefined);
    }
    if (!this.options.annotateReplica) return;
    // Garbage collection: a Pod still naming a replica its proxy no longer streams from.
    for (const pod of this.store.list('Pod')) {
      const replica = pod.metadata.annotations?.[CONTROL_PLANE_ANNOTATION];
      const ns = pod.metadata.namespace ?? '';
      if (!replica || !pod.metadata.name.startsWith(NODE_PROXY_PREFIX) || present.has(`${pod.metadata.name}.${ns}`)) continue;
      const ip = typeof pod.status?.['podIP'] === 'string' ? pod.status['podIP'] : '';
      const proxy: ProxyInfo = { id: '', type: 'ztunnel', ip, name: pod.metadata.name, namespace: ns, proxyId: `${pod.metadata.name}.${ns}` };
      await registerNodeProxy(this.store, proxy, undefined);
    }
  }
}
