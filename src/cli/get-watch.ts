// `l4mesh get -w`: after the list, prints each change to the listed objects as the watch API reports it.
import type { KindInfo } from '../api/kinds.js';
import type { Resource } from '../api/types.js';
import { collectionPathOf, watchCollection, WatchError } from '../controlplane/client/watch-client.js';
import type { CliContext } from './cli-context.js';

/** Wait before resuming a watch the control plane broke off (it restarting, say); short enough to feel live. */
export const WATCH_RESUME_DELAY_MS = 500;

export interface FollowOptions {
  info: KindInfo;
  namespace: string | undefined;
  labelSelector?: string;
  /** Only these names, when given. */
  names: string[];
  /** The list's version: the watch starts after it. */
  resourceVersion: string;
  print: (r: Resource) => Promise<void>;
}

/** One table row padded to the widths of the table printed first, as kubectl does while watching. */
export function formatRow(widths: number[], cells: string[], gap = 3): string {
  return cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd((widths[i] ?? c.length) + gap))).join('').trimEnd() + '\n';
}

/**
 * Prints changes until SIGINT/SIGTERM (exit 0). A broken stream resumes from the last version printed;
 * a 410 (the control plane restarted and keeps no history that old) ends with the server's message.
 */
export async function followChanges(ctx: CliContext, o: FollowOptions): Promise<number> {
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let version = o.resourceVersion;
  // Events are printed in order even though printing a row may wait on the network (VIPs, readiness).
  let printing = Promise.resolve();
  try {
    while (!abort.signal.aborted) {
      try {
        await watchCollection(
          { address: ctx.client.address, token: ctx.client.adminToken, path: collectionPathOf(o.info, o.namespace), resourceVersion: version, labelSelector: o.labelSelector, signal: abort.signal },
          (e) => {
            version = e.object.metadata.resourceVersion ?? version;
            if (o.names.length > 0 && !o.names.includes(e.object.metadata.name)) return;
            printing = printing.then(() => o.print(e.object)).catch((err: Error) => void process.stderr.write(`error: ${err.message}\n`));
          },
        );
      } catch (err) {
        if (err instanceof WatchError && err.status !== 0) throw err;
        if (!abort.signal.aborted) process.stderr.write(`${(err as Error).message}; resuming\n`);
      }
      if (!abort.signal.aborted) await new Promise((r) => setTimeout(r, WATCH_RESUME_DELAY_MS));
    }
    await printing;
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
