// What the control plane needs from a resource store; the file store and the etcd store both provide it.
import type { ApplyAction, ApplyResult, Resource, ResourceKey } from '../../api/types.js';
import type { WatchListener } from './watch-history.js';

export interface StoreChange {
  type: 'put' | 'delete';
  resource: Resource;
  /** For a put: true when the resource did not exist before (a watch reports ADDED, else MODIFIED). */
  created?: boolean;
}

/** Payload of the `'change'` event: everything one successful call changed, in call order. */
export interface StoreChangeEvent {
  changes: StoreChange[];
}

export interface PutResult {
  action: ApplyAction;
  resource: Resource;
}

/**
 * Reads are served from memory (every replica keeps the whole state), writes go to the backend and
 * resolve once durable. Every successful write is published as one `'change'` event and to watches.
 */
export interface MeshStore {
  /** The newest resourceVersion this store knows (what a list reports as its own resourceVersion). */
  readonly resourceVersion: string;
  get(kind: string, namespace: string, name: string): Resource | undefined;
  /** Stored resources, optionally of one kind and/or one namespace, sorted by namespace then name. */
  list(kind?: string, namespace?: string): Resource[];
  /** Creates or updates validated resources; all are written or none is. */
  apply(resources: Resource[]): Promise<ApplyResult[]>;
  /**
   * Creates or updates one resource. When `resource.metadata.resourceVersion` is set, the write
   * happens only if the stored version is still that one (else L4MESH_ERR_CONFLICT).
   */
  put(resource: Resource, expectedResourceVersion?: string): Promise<PutResult>;
  /** Deletes one resource; resolves to the deleted object, or undefined when there was none. */
  delete(kind: string, namespace: string, name: string): Promise<Resource | undefined>;
  /** Deletes resources; all are deleted or none is. Each entry is the deleted object or undefined if missing. */
  deleteMany(keys: ResourceKey[]): Promise<Array<Resource | undefined>>;
  /**
   * Replays the changes after `resourceVersion` to `listener`, then streams new ones until the
   * returned function is called; throws L4MESH_ERR_GONE when that history is no longer kept.
   */
  watch(resourceVersion: number, listener: WatchListener): () => void;
  on(event: 'change', fn: (e: StoreChangeEvent) => void): unknown;
  off(event: 'change', fn: (e: StoreChangeEvent) => void): unknown;
  /** Stops background work (an etcd watch, a lease); the file store has none. */
  close(): Promise<void>;
}

export function watchEventsOf(changes: StoreChange[]): Array<{ type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Resource }> {
  return changes.map((c) => ({ type: c.type === 'delete' ? 'DELETED' : c.created ? 'ADDED' : 'MODIFIED', object: c.resource }));
}
