// The status of the node proxies' own Pods (istio-system/ztunnel-<node>), as the runtime's supervisor sees
// them: READY follows the proxy's readiness, RESTARTS counts the supervisor's restarts.
import { kindByName } from '../api/kinds.js';
import type { ControlPlaneClient } from '../controlplane/client/control-plane-client.js';
import type { Logger } from '../logging/logger.js';
import { rfc3339Now } from './container-probe.js';

const POD = kindByName('Pod')!;
export const NODE_PROXY_POD_NAMESPACE = 'istio-system';
/** The container name the control plane gives a node proxy's Pod (controlplane/proxy-admission.ts). */
const PROXY_CONTAINER = 'istio-proxy';

export interface NodeProxyChange {
  ready?: boolean;
  restarts?: number;
  finishedAt?: string;
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  [field: string]: unknown;
}

export class NodeProxyPods {
  /** Writes per node, in order: a readiness change must not overtake the restart before it. */
  private readonly writes = new Map<string, Promise<void>>();

  constructor(
    private readonly client: ControlPlaneClient,
    private readonly log: Logger,
  ) {}

  update(node: string, change: NodeProxyChange): void {
    const previous = this.writes.get(node) ?? Promise.resolve();
    const next = previous.then(() => this.write(node, change)).catch((err: Error) => {
      // The control plane may be the process that is down; the next change writes the whole status again.
      this.log.debug('cannot update the node proxy pod', { node, error: err });
    });
    this.writes.set(node, next);
  }

  private async write(node: string, change: NodeProxyChange): Promise<void> {
    const pod = await this.client.get(POD, NODE_PROXY_POD_NAMESPACE, `ztunnel-${node}`);
    // Recorded by the control plane when the proxy first connects; nothing to update before that.
    if (!pod) return;
    const status = { ...(pod.status ?? {}) };
    const statuses = (status['containerStatuses'] as ContainerStatus[] | undefined) ?? [];
    const prev = statuses.find((s) => s.name === PROXY_CONTAINER) ?? { name: PROXY_CONTAINER };
    const ready = change.ready ?? prev.ready ?? false;
    const container: ContainerStatus = { ...prev, name: PROXY_CONTAINER, ready, restartCount: change.restarts ?? prev.restartCount ?? 0 };
    if (change.finishedAt) {
      container['lastState'] = { terminated: { finishedAt: change.finishedAt } };
      container['state'] = { waiting: { reason: 'CrashLoopBackOff' } };
    } else if (ready) {
      container['state'] = { running: { startedAt: rfc3339Now() } };
    }
    status['containerStatuses'] = [container];
    status['conditions'] = [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: rfc3339Now() }];
    status['phase'] = 'Running';
    await this.client.put(POD, { ...pod, status });
  }
}
