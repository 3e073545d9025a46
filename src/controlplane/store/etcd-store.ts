// The resource store on etcd: every replica keeps the whole state in memory, fed by one etcd watch;
// writes are compare-and-swap transactions, and resourceVersion is etcd's revision.
import { EventEmitter } from 'node:events';
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { keyOf, keyString, type ApplyResult, type Resource, type ResourceKey } from '../../api/types.js';
import { L4meshError } from '../../errors/index.js';
import { connectEtcd, ETCD_DEFAULT_MAX_TXN_OPS, ETCD_PREFIX, memberUnreachable, resourceKey, RESOURCES_PREFIX, txnTooLarge, txnTooLargeForEtcd, unavailable } from './etcd-connection.js';
import { checkKey } from './layout.js';
import { watchEventsOf, type MeshStore, type PutResult, type StoreChange, type StoreChangeEvent } from './mesh-store.js';
import { actionFor, checkPrecondition, listResources, deepFreeze, stampResource, withResourceVersion } from './server-fields.js';
import { WatchHistory, type WatchListener } from './watch-history.js';
import { WriteQueue } from './write-queue.js';

/**
 * A write whose compare failed (another replica wrote the same key first) is recomputed against the
 * newer state this many times before the caller is told L4MESH_ERR_CONFLICT.
 */
export const MAX_CAS_ATTEMPTS = 5;
/** How long a write waits for its own change to come back through the watch (read-your-writes). */
export const WATCH_CATCH_UP_TIMEOUT_MS = 10_000;

/** Shutdown does not wait longer than this for etcd to acknowledge the watch's cancellation. */
export const CLOSE_TIMEOUT_MS = 1_000;

export interface EtcdStoreOptions {
  endpoints: string[];
  /** The most resources one write may hold: etcd's `--max-txn-ops` (default ETCD_DEFAULT_MAX_TXN_OPS). */
  maxTxnOps?: number;
  now?: () => Date;
  watchHistoryEvents?: number;
}

/** A key beside the resources (VIP allocation, node token, proxy presence) as the watch last delivered it. */
export interface EtcdEntry {
  value: string;
  modRevision: number;
}

/** A write's outcome before it is committed: the txn succeeded or lost a race. */
type Attempt<T> = { done: true; value: T } | { done: false };

export class EtcdStore extends EventEmitter implements MeshStore {
  private readonly byKey = new Map<string, Resource>();
  /** Every other key under ETCD_PREFIX, full key → entry; fed by the same watch, so it is consistent with byKey. */
  private readonly side = new Map<string, EtcdEntry>();
  private readonly queue = new WriteQueue();
  private revision: number;
  private readonly history: WatchHistory;
  private readonly waiters: Array<{ revision: number; resolve: () => void }> = [];
  private watcher: Watcher | undefined;

  private constructor(
    private readonly client: Etcd3,
    private readonly options: EtcdStoreOptions,
    startRevision: number,
  ) {
    super();
    this.revision = startRevision;
    this.history = new WatchHistory(startRevision, options.watchHistoryEvents);
  }

  /**
   * Loads every l4mesh key at one revision, then follows changes from the next one with one watch, so
   * resources and the keys beside them (VIPs, node tokens, proxies) are always seen at one revision.
   */
  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    const client = connectEtcd(options.endpoints);
    let range;
    try {
      range = await client.getAll().prefix(ETCD_PREFIX).exec();
    } catch (err) {
      client.close();
      throw unavailable(options.endpoints, 'load the resources', err);
    }
    const store = new EtcdStore(client, options, Number(range.header.revision));
    for (const kv of range.kvs) {
      const key = kv.key.toString('utf8');
      if (!key.startsWith(RESOURCES_PREFIX)) {
        store.side.set(key, { value: kv.value.toString('utf8'), modRevision: Number(kv.mod_revision) });
        continue;
      }
      const r = decode(kv);
      store.byKey.set(keyString(keyOf(r)), r);
    }
    store.watcher = await client.watch().prefix(ETCD_PREFIX).withPreviousKV().startRevision(String(store.revision + 1)).create();
    store.watcher.on('data', (res: IWatchResponse) => store.onWatch(res));
    // The client reconnects a broken watch from the last revision it delivered; nothing to do here.
    store.watcher.on('error', () => undefined);
    return store;
  }

  /** The connection, for state beside the resources (the shared CA and admin token). */
  get etcd(): Etcd3 {
    return this.client;
  }

  /** The keys under `prefix` (outside the resources), full key → entry, as of the last watch response. */
  entries(prefix: string): Map<string, EtcdEntry> {
    const out = new Map<string, EtcdEntry>();
    for (const [k, e] of this.side) if (k.startsWith(prefix)) out.set(k, e);
    return out;
  }

  /** The endpoints this store talks to (for error messages of modules writing beside it). */
  get endpoints(): string[] {
    return this.options.endpoints;
  }

  get resourceVersion(): string {
    return String(this.revision);
  }

  get(kind: string, namespace: string, name: string): Resource | undefined {
    return this.byKey.get(keyString({ kind, namespace, name }));
  }

  list(kind?: string, namespace?: string): Resource[] {
    return listResources(this.byKey.values(), kind, namespace);
  }

  apply(resources: Resource[]): Promise<ApplyResult[]> {
    return this.queue.run(() => this.withRetries((last) => this.tryApply(resources, undefined, last)));
  }

  put(resource: Resource, expectedResourceVersion?: string): Promise<PutResult> {
    return this.queue.run(async () => {
      const [result] = await this.withRetries((last) => this.tryApply([resource], expectedResourceVersion ?? resource.metadata.resourceVersion, last));
      return { action: result!.action, resource: this.get(result!.kind, result!.namespace, result!.name)! };
    });
  }

  async delete(kind: string, namespace: string, name: string): Promise<Resource | undefined> {
    const [deleted] = await this.deleteMany([{ kind, namespace, name }]);
    return deleted;
  }

  deleteMany(keys: ResourceKey[]): Promise<Array<Resource | undefined>> {
    return this.queue.run(() => this.withRetries((last) => this.tryDelete(keys, last)));
  }

  watch(resourceVersion: number, listener: WatchListener): () => void {
    return this.history.subscribe(resourceVersion, listener);
  }

  /** Cancels the watch (waiting at most CLOSE_TIMEOUT_MS: etcd may be the thing that is down) and disconnects. */
  async close(): Promise<void> {
    const cancelled = this.watcher?.cancel().catch(() => undefined);
    await Promise.race([cancelled, new Promise((r) => setTimeout(r, CLOSE_TIMEOUT_MS).unref())]);
    this.client.close();
  }

  /** Runs `attempt` until its transaction commits; a lost race waits for the winner's change first. */
  private async withRetries<T>(attempt: (last: boolean) => Promise<Attempt<T>>): Promise<T> {
    for (let i = 1; ; i++) {
      const result = await attempt(i === MAX_CAS_ATTEMPTS);
      if (result.done) return result.value;
    }
  }

  private async tryApply(resources: Resource[], expected: string | undefined, last: boolean): Promise<Attempt<ApplyResult[]>> {
    const pending = new Map<string, { stored: Resource; current: Resource | undefined }>();
    const results: ApplyResult[] = [];
    const now = this.options.now?.() ?? new Date();
    for (const incoming of resources) {
      const k = keyOf(incoming);
      checkKey(k);
      const key = keyString(k);
      const current = pending.has(key) ? pending.get(key)!.stored : this.byKey.get(key);
      if (expected !== undefined) checkPrecondition(current, k, expected);
      const action = actionFor(current, incoming);
      results.push({ kind: k.kind, namespace: k.namespace, name: k.name, action });
      if (action === 'unchanged') continue;
      // The version is etcd's revision, known only after the commit; the watch sets it.
      pending.set(key, { stored: stampResource(incoming, current, 0, now), current: pending.get(key)?.current ?? this.byKey.get(key) });
    }
    if (pending.size === 0) return { done: true, value: results };
    this.checkTxnSize('apply the resources', pending.size);
    const txn = this.client.if(...compareOf([...pending.values()][0]!.stored, [...pending.values()][0]!.current));
    for (const p of [...pending.values()].slice(1)) txn.and(...compareOf(p.stored, p.current));
    txn.then(...[...pending.values()].map((p) => this.client.put(keyFor(p.stored)).value(encode(p.stored))));
    const committed = await this.commit(txn, 'apply the resources', last, pending.size);
    return committed.done ? { done: true, value: results } : committed;
  }

  private async tryDelete(keys: ResourceKey[], last: boolean): Promise<Attempt<Array<Resource | undefined>>> {
    const doomed = new Map<string, Resource>();
    const found: Array<Resource | undefined> = [];
    for (const k of keys) {
      checkKey(k);
      const current = doomed.has(keyString(k)) ? undefined : this.byKey.get(keyString(k));
      if (current) doomed.set(keyString(k), current);
      found.push(current);
    }
    if (doomed.size === 0) return { done: true, value: found };
    const all = [...doomed.values()];
    this.checkTxnSize('delete the resources', all.length);
    const txn = this.client.if(...compareOf(all[0]!, all[0]!));
    for (const r of all.slice(1)) txn.and(...compareOf(r, r));
    txn.then(...all.map((r) => this.client.delete().key(keyFor(r))));
    const committed = await this.commit(txn, 'delete the resources', last, all.length);
    if (!committed.done) return committed;
    // Like the watch's DELETED objects: the stored object at the deletion's revision.
    return { done: true, value: found.map((r) => (r ? withResourceVersion(r, committed.value) : undefined)) };
  }

  /** Refuses, before anything is sent, a write of more resources than one etcd transaction may hold. */
  private checkTxnSize(doing: string, resources: number): void {
    const max = this.options.maxTxnOps ?? ETCD_DEFAULT_MAX_TXN_OPS;
    if (resources > max) throw txnTooLarge(doing, resources, `the control plane allows ${max} per transaction (--etcd-max-txn-ops)`);
  }

  /**
   * Commits; resolves to the transaction's revision once the watch has delivered it (so a read right
   * after sees the change), or to a lost race after the winner's change has arrived.
   */
  private async commit(txn: ReturnType<Etcd3['if']>, doing: string, last: boolean, resources: number): Promise<Attempt<number>> {
    let res;
    try {
      res = await txn.commit();
    } catch (err) {
      if (txnTooLargeForEtcd(err)) throw txnTooLarge(doing, resources, `etcd refused it: ${(err as Error).message}`);
      if (!memberUnreachable(err)) throw unavailable(this.options.endpoints, doing, err);
      // That member is now skipped; sending the same compare-and-swap to another is safe: if the first
      // did commit, this one's compare fails and the write is recomputed against the result.
      try {
        res = await txn.commit();
      } catch (again) {
        throw unavailable(this.options.endpoints, doing, again);
      }
    }
    const revision = Number(res.header.revision);
    await this.caughtUp(revision);
    if (res.succeeded) return { done: true, value: revision };
    if (last) {
      throw new L4meshError(
        'L4MESH_ERR_CONFLICT',
        `cannot ${doing}: other writers changed the same resources ${MAX_CAS_ATTEMPTS} times while this write was prepared; retry`,
      );
    }
    return { done: false };
  }

  /** Resolves once the watch has delivered `revision` (a write of this replica's own is then visible in reads). */
  caughtUp(revision: number): Promise<void> {
    if (this.revision >= revision) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(unavailable(this.options.endpoints, 'confirm the write', new Error(`the watch did not reach revision ${revision} within ${WATCH_CATCH_UP_TIMEOUT_MS} ms`)));
      }, WATCH_CATCH_UP_TIMEOUT_MS);
      this.waiters.push({ revision, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /**
   * One watch response may hold several revisions; each revision's resource changes become one 'change'
   * event, in order. Changes to keys beside the resources are applied first and announced once, as
   * `'entries'` with the changed keys, after the resource events of the same response.
   */
  private onWatch(res: IWatchResponse): void {
    let batch: StoreChange[] = [];
    let batchRevision = 0;
    const changedEntries: string[] = [];
    const flush = (): void => {
      if (batch.length === 0) return;
      this.revision = Math.max(this.revision, batchRevision);
      this.history.record(watchEventsOf(batch));
      this.emit('change', { changes: batch } satisfies StoreChangeEvent);
      batch = [];
    };
    for (const e of res.events) {
      const revision = Number(e.kv.mod_revision);
      const key = e.kv.key.toString('utf8');
      if (!key.startsWith(RESOURCES_PREFIX)) {
        if (e.type === 'Put') this.side.set(key, { value: e.kv.value.toString('utf8'), modRevision: revision });
        else this.side.delete(key);
        changedEntries.push(key);
        continue;
      }
      if (revision !== batchRevision) flush();
      batchRevision = revision;
      if (e.type === 'Put') {
        const r = decode(e.kv);
        this.byKey.set(keyString(keyOf(r)), r);
        batch.push({ type: 'put', resource: r, created: e.kv.create_revision === e.kv.mod_revision });
      } else if (e.prev_kv) {
        const before = decode(e.prev_kv);
        this.byKey.delete(keyString(keyOf(before)));
        batch.push({ type: 'delete', resource: withResourceVersion(before, revision) });
      }
    }
    flush();
    const last = res.events.length > 0 ? Number(res.events[res.events.length - 1]!.kv.mod_revision) : Number(res.header.revision);
    if (last > this.revision) this.revision = last;
    if (changedEntries.length > 0) this.emit('entries', changedEntries);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.revision <= this.revision) this.waiters.splice(i, 1)[0]!.resolve();
    }
  }
}

function keyFor(r: Resource): string {
  return resourceKey(r.kind, r.metadata.namespace ?? '', r.metadata.name);
}

/** The write goes through only if the key is still as this replica saw it (absent, or at that revision). */
function compareOf(target: Resource, current: Resource | undefined): [string, 'Mod' | 'Create', '==', number] {
  return current ? [keyFor(target), 'Mod', '==', Number(current.metadata.resourceVersion)] : [keyFor(target), 'Create', '==', 0];
}

function encode(r: Resource): string {
  const { resourceVersion: _rv, ...metadata } = r.metadata;
  return JSON.stringify({ ...r, metadata });
}

function decode(kv: IKeyValue): Resource {
  const r = JSON.parse(kv.value.toString('utf8')) as Resource;
  r.metadata.resourceVersion = kv.mod_revision;
  return deepFreeze(r);
}

