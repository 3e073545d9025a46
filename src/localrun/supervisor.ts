// Keeps the mesh's own processes up (control plane(s), etcd members and node proxies `up` started): restarts one
// that exited with backoff, as the runtime does for pods, and reports each node proxy's readiness.
import type { Logger } from '../logging/logger.js';
import { ExponentialBackoff } from '../retry/backoff.js';
import { rfc3339Now } from './container-probe.js';
import { isSupervised, meshComponents, probeReady, spawnComponent, type Component } from './components.js';
import type { Layout } from './layout.js';
import { isAlive, readProcessTable, writeProcessTable } from './processes.js';
import { RESTART_BACKOFF_INITIAL_MS, RESTART_BACKOFF_MAX_MS } from './pod-runner.js';

/** How often processes are checked and node proxies probed: a dead proxy is noticed within this. */
export const SUPERVISE_INTERVAL_MS = 250;
/** A process that ran this long is healthy again: its next exit starts the backoff over (as for pods). */
export const RESTART_RESET_AFTER_MS = 10_000;
/** A readiness probe slower than this counts as not ready; well under the 15 s a restart may take. */
const PROBE_TIMEOUT_MS = 1_000;

/** What the supervisor tells the runtime; `node` is `node-k`. */
export interface SupervisorEvents {
  nodeReadiness(node: string, ready: boolean): void;
  /** A node proxy exited and is being restarted (`restarts` so far, this one included). */
  nodeProxyRestarting(node: string, restarts: number, finishedAt: string): void;
}

interface Supervised {
  component: Component;
  /** node-k for a node proxy; undefined for the control plane. */
  node?: string;
  backoff: ExponentialBackoff;
  restartTimer?: NodeJS.Timeout;
  startedAt: number;
  ready?: boolean;
}

export class MeshSupervisor {
  private readonly supervised: Supervised[];
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private ticking = false;

  constructor(
    private readonly stateDir: string,
    layout: Layout,
    private readonly log: Logger,
    private readonly events: SupervisorEvents,
  ) {
    const components = meshComponents(stateDir, layout);
    this.supervised = components
      .filter(isSupervised)
      .map((component) => ({
        component,
        node: component.name.startsWith('ztunnel-') ? component.name.slice('ztunnel-'.length) : undefined,
        backoff: new ExponentialBackoff({ initialMs: RESTART_BACKOFF_INITIAL_MS, maxMs: RESTART_BACKOFF_MAX_MS }),
        startedAt: Date.now(),
      }));
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), SUPERVISE_INTERVAL_MS);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const s of this.supervised) clearTimeout(s.restartTimer);
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const table = readProcessTable(this.stateDir);
      await Promise.all(this.supervised.map((s) => this.check(s, table[s.component.name])));
    } finally {
      this.ticking = false;
    }
  }

  private async check(s: Supervised, rec: ReturnType<typeof readProcessTable>[string] | undefined): Promise<void> {
    // Never started by `up` (or stopped by `down`): not ours to start.
    if (!rec || s.restartTimer) return;
    if (isAlive(rec)) {
      if (Date.now() - s.startedAt >= RESTART_RESET_AFTER_MS) s.backoff.reset();
      if (s.node && s.component.readyUrl) this.setReady(s, await probeReady(s.component.readyUrl, PROBE_TIMEOUT_MS));
      return;
    }
    const restarts = (rec.restarts ?? 0) + 1;
    const finishedAt = rfc3339Now();
    const delay = s.backoff.next();
    this.log.warn('mesh process exited; restarting', { component: s.component.name, pid: rec.pid, restarts, backoffMs: delay });
    if (s.node) {
      this.setReady(s, false);
      this.events.nodeProxyRestarting(s.node, restarts, finishedAt);
    }
    s.restartTimer = setTimeout(() => void this.restart(s, rec.pid, restarts, finishedAt), delay);
  }

  private setReady(s: Supervised, ready: boolean): void {
    if (s.ready === ready || this.stopped) return;
    s.ready = ready;
    this.events.nodeReadiness(s.node!, ready);
  }

  private async restart(s: Supervised, deadPid: number, restarts: number, finishedAt: string): Promise<void> {
    try {
      if (this.stopped) return;
      // `l4mesh up` may have started it again during the backoff: a second copy would only fight for its ports.
      const current = readProcessTable(this.stateDir)[s.component.name];
      if (current && current.pid !== deadPid && isAlive(current)) return;
      const proc = await spawnComponent(s.component, this.stateDir);
      // Re-read: `up` or another restart may have written the table meanwhile.
      const table = readProcessTable(this.stateDir);
      table[s.component.name] = { ...proc, address: s.component.address, restarts, lastExit: finishedAt };
      await writeProcessTable(this.stateDir, table);
      s.startedAt = Date.now();
      this.log.info('mesh process restarted', { component: s.component.name, pid: proc.pid, restarts });
    } catch (err) {
      this.log.error('cannot restart a mesh process', { component: s.component.name, error: err as Error });
    } finally {
      s.restartTimer = undefined;
    }
  }
}
