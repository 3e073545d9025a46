// Sidecar mode in the local runtime: a pod whose labels or annotations carry sidecar.istio.io/inject
// "true" gets an `l4mesh sidecar` process on its pod IP, started before its containers and stopped
// after them, with its own /24 for outbound listeners.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Resource } from '../api/types.js';
import { LABEL_SIDECAR_INJECT } from '../api/labels.js';
import type { Layout } from './layout.js';
import { selfCommand } from './processes.js';

/** The container name Istio gives its sidecar; logs and process records use it. */
export const SIDECAR_CONTAINER = 'istio-proxy';

export function wantsSidecar(pod: Resource): boolean {
  const labels = (pod.metadata.labels ?? {}) as Record<string, unknown>;
  const annotations = (pod.metadata.annotations ?? {}) as Record<string, unknown>;
  return labels[LABEL_SIDECAR_INJECT] === 'true' || annotations[LABEL_SIDECAR_INJECT] === 'true';
}

/**
 * /24 blocks for sidecars' outbound listeners, outside every node proxy's range: 127.b.4.0–127.b.31.0
 * with an address base (the layout keeps 127.b.0–3 and 127.b.32+ for other uses), else 127.64.0.0/16
 * (node-k's default range starts at 127.65).
 */
export class SidecarCaptureBlocks {
  private readonly byPod = new Map<string, number>();

  constructor(private readonly layout: Pick<Layout, 'base'>) {}

  private get count(): number {
    return this.layout.base === null ? 256 : 28;
  }

  private cidr(i: number): string {
    return this.layout.base === null ? `127.64.${i}.0/24` : `127.${this.layout.base}.${4 + i}.0/24`;
  }

  /** The pod's block, the lowest free one on first use; undefined when every block is taken. */
  allocate(key: string): string | undefined {
    const have = this.byPod.get(key);
    if (have !== undefined) return this.cidr(have);
    const used = new Set(this.byPod.values());
    for (let i = 0; i < this.count; i++) {
      if (used.has(i)) continue;
      this.byPod.set(key, i);
      return this.cidr(i);
    }
    return undefined;
  }

  release(key: string): void {
    this.byPod.delete(key);
  }
}

export function spawnSidecar(args: string[], logFile: string, env: NodeJS.ProcessEnv): { child: ChildProcess; command: string[] } {
  const self = selfCommand();
  const command = self.command;
  const argv = [...self.args, 'sidecar', ...args];
  const fd = openSync(logFile, 'a');
  try {
    return { child: spawn(command, argv, { env, detached: true, stdio: ['ignore', fd, fd] }), command: [command, ...argv] };
  } finally {
    closeSync(fd);
  }
}
