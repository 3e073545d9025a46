// The store's recent changes in resourceVersion order, so a watch can resume after a version it saw.
import type { Resource } from '../../api/types.js';
import { L4meshError } from '../../errors/index.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One line of a watch stream, shaped as Kubernetes' watch.Event. */
export interface WatchEvent {
  type: WatchEventType;
  object: Resource;
}

export type WatchListener = (event: WatchEvent) => void;

/**
 * Changes kept for watches that resume from an older resourceVersion. Kubernetes keeps about five
 * minutes; a count bounds memory instead, and 10,000 changes covers minutes of heavy applying.
 */
export const DEFAULT_WATCH_HISTORY_EVENTS = 10_000;

export function revisionOf(r: Resource): number {
  return Number(r.metadata.resourceVersion ?? 0);
}

export class WatchHistory {
  private events: WatchEvent[] = [];
  private readonly listeners = new Set<WatchListener>();
  /** Every change after this revision is kept (or there was none); older ones are not. */
  private oldest: number;

  constructor(
    startRevision: number,
    private readonly capacity = DEFAULT_WATCH_HISTORY_EVENTS,
  ) {
    this.oldest = startRevision;
  }

  /** The oldest revision a watch may start after. */
  get oldestRevision(): number {
    return this.oldest;
  }

  /** Appends events (in revision order) and hands each to every watcher. */
  record(events: WatchEvent[]): void {
    for (const e of events) {
      this.events.push(e);
      for (const l of [...this.listeners]) l(e);
    }
    if (this.events.length > this.capacity) {
      const dropped = this.events.splice(0, this.events.length - this.capacity);
      this.oldest = revisionOf(dropped[dropped.length - 1]!.object);
    }
  }

  /**
   * Replays every kept change after `revision` to `listener`, synchronously, then streams new ones
   * until the returned function is called. Throws L4MESH_ERR_GONE when changes after `revision` were
   * already dropped (the caller must list again and watch from the list's resourceVersion).
   */
  subscribe(revision: number, listener: WatchListener): () => void {
    if (revision < this.oldest) {
      throw new L4meshError(
        'L4MESH_ERR_GONE',
        `too old resource version: ${revision} (${this.oldest}): the store keeps changes only after resourceVersion ${this.oldest}; list again and watch from the list's metadata.resourceVersion`,
      );
    }
    for (const e of this.events) if (revisionOf(e.object) > revision) listener(e);
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
