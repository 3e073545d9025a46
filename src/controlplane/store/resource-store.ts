// The control plane's embedded resource store: one JSON file per resource, an in-memory index, change events.
import { EventEmitter } from 'node:events';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { KINDS } from '../../api/kinds.js';
import { keyOf, keyString, type ApplyResult, type Resource, type ResourceKey } from '../../api/types.js';
import { L4meshError } from '../../errors/index.js';
import { durableFiles, isTempFile, type DurableFiles } from './durable-files.js';
import { checkKey, CLUSTER_SCOPE_DIR, resourceFile, resourcesRoot, RESOURCE_FILE_SUFFIX } from './layout.js';
import { watchEventsOf, type MeshStore, type PutResult, type StoreChange, type StoreChangeEvent } from './mesh-store.js';
import { readRevision, revisionFile } from './revision-file.js';
import { actionFor, checkPrecondition, listResources, deepFreeze, stampResource, withResourceVersion } from './server-fields.js';
import { WatchHistory, type WatchListener } from './watch-history.js';
import { WriteQueue } from './write-queue.js';

export type { PutResult, StoreChange, StoreChangeEvent } from './mesh-store.js';

export interface ResourceStoreOptions {
  /** File operations; tests pass a wrapper that fails on purpose. */
  files?: DurableFiles;
  /** Clock for creationTimestamp. */
  now?: () => Date;
  /** How many changes watches can resume from; DEFAULT_WATCH_HISTORY_EVENTS unless a test wants fewer. */
  watchHistoryEvents?: number;
}

/** One planned file change of a call, kept so a failed call can put every file back. */
interface PlannedWrite {
  file: string;
  key: string;
  before: Resource | undefined;
  after: Resource | undefined;
}

export class ResourceStore extends EventEmitter implements MeshStore {
  readonly stateDir: string;
  private readonly files: DurableFiles;
  private readonly now: () => Date;
  private readonly byKey = new Map<string, Resource>();
  private readonly queue = new WriteQueue();
  /** The last resourceVersion handed out; persisted in the revision file so it never goes back. */
  private counter: number;
  private readonly history: WatchHistory;

  private constructor(stateDir: string, options: ResourceStoreOptions, loaded: Resource[], persistedRevision: number) {
    super();
    this.stateDir = stateDir;
    this.files = options.files ?? durableFiles;
    this.now = options.now ?? (() => new Date());
    let max = 0;
    for (const r of loaded) {
      this.byKey.set(keyString(keyOf(r)), deepFreeze(r));
      max = Math.max(max, Number(r.metadata.resourceVersion ?? 0));
    }
    // A delete leaves no file behind, so the newest version handed out may only be in the revision file.
    this.counter = Math.max(max, persistedRevision);
    this.history = new WatchHistory(this.counter, options.watchHistoryEvents);
  }

  /** Loads every stored resource; deletes temp files a crash left behind; fails naming any unreadable file. */
  static async open(stateDir: string, options: ResourceStoreOptions = {}): Promise<ResourceStore> {
    const loaded = await loadAll(stateDir);
    return new ResourceStore(stateDir, options, loaded, await readRevision(stateDir));
  }

  /** The newest resourceVersion handed out (what a list reports as its own resourceVersion). */
  get resourceVersion(): string {
    return String(this.counter);
  }

  get(kind: string, namespace: string, name: string): Resource | undefined {
    return this.byKey.get(keyString({ kind, namespace, name }));
  }

  /** Stored resources, optionally of one kind and/or one namespace, sorted by namespace then name. */
  list(kind?: string, namespace?: string): Resource[] {
    return listResources(this.byKey.values(), kind, namespace);
  }

  /** Creates or updates validated resources; all are written or none is. */
  apply(resources: Resource[]): Promise<ApplyResult[]> {
    return this.queue.run(() => this.applyNow(resources).then((r) => r.map((p) => p.result)));
  }

  /**
   * Creates or updates one validated resource. A precondition, as in Kubernetes: `expectedResourceVersion`,
   * else a `metadata.resourceVersion` on the resource, must be the stored version (L4MESH_ERR_CONFLICT
   * otherwise, L4MESH_ERR_NOT_FOUND when there is none); without either, the last writer wins.
   */
  put(resource: Resource, expectedResourceVersion?: string): Promise<PutResult> {
    return this.queue.run(async () => {
      checkPrecondition(this.byKey.get(keyString(keyOf(resource))), keyOf(resource), expectedResourceVersion ?? resource.metadata.resourceVersion);
      const [first] = await this.applyNow([resource]);
      return { action: first!.result.action, resource: first!.stored };
    });
  }

  /** Deletes one resource; resolves to the deleted object, or undefined when there was none. */
  async delete(kind: string, namespace: string, name: string): Promise<Resource | undefined> {
    const [deleted] = await this.deleteMany([{ kind, namespace, name }]);
    return deleted;
  }

  watch(resourceVersion: number, listener: WatchListener): () => void {
    return this.history.subscribe(resourceVersion, listener);
  }

  async close(): Promise<void> {
    // Nothing runs in the background; writes already resolved are durable.
  }

  /** Deletes resources; all are deleted or none is. Each entry is the deleted object or undefined if missing. */
  deleteMany(keys: ResourceKey[]): Promise<Array<Resource | undefined>> {
    return this.queue.run(async () => {
      const pending = new Map<string, Resource | undefined>();
      const plan: PlannedWrite[] = [];
      const out: Array<Resource | undefined> = [];
      let version = this.counter;
      for (const k of keys) {
        const file = resourceFile(this.stateDir, k);
        const key = keyString(k);
        const current = pending.has(key) ? pending.get(key) : this.byKey.get(key);
        if (!current) {
          out.push(undefined);
          continue;
        }
        pending.set(key, undefined);
        plan.push({ file, key, before: current, after: undefined });
        out.push(withResourceVersion(current, ++version));
      }
      await this.execute(plan, version);
      this.counter = version;
      this.publish(out.filter((r): r is Resource => r !== undefined).map((resource) => ({ type: 'delete' as const, resource })));
      return out;
    });
  }

  private async applyNow(resources: Resource[]): Promise<Array<{ result: ApplyResult; stored: Resource }>> {
    const pending = new Map<string, Resource | undefined>();
    const plan: PlannedWrite[] = [];
    const out: Array<{ result: ApplyResult; stored: Resource }> = [];
    const now = this.now();
    let version = this.counter;
    for (const incoming of resources) {
      const k = keyOf(incoming);
      const file = resourceFile(this.stateDir, k);
      const key = keyString(k);
      const current = pending.has(key) ? pending.get(key) : this.byKey.get(key);
      const action = actionFor(current, incoming);
      const result: ApplyResult = { kind: k.kind, namespace: k.namespace, name: k.name, action };
      if (action === 'unchanged') {
        out.push({ result, stored: current! });
        continue;
      }
      const stored = stampResource(incoming, current, ++version, now);
      pending.set(key, stored);
      plan.push({ file, key, before: current, after: stored });
      out.push({ result, stored });
    }
    await this.execute(plan, version);
    this.counter = version;
    this.publish(plan.map((p) => ({ type: 'put' as const, resource: p.after!, created: p.before === undefined })));
    return out;
  }

  /**
   * Writes the plan to disk, then the new revision, then memory. On a failed write, restores every
   * file already touched. The revision is written last: a crash before it loses only versions nobody
   * was told about, and files that were written carry their own version.
   */
  private async execute(plan: PlannedWrite[], revision: number): Promise<void> {
    if (plan.length === 0) return;
    const originals = new Map<string, Resource | undefined>();
    try {
      for (const p of plan) {
        if (!originals.has(p.file)) originals.set(p.file, p.before);
        if (p.after) await this.files.writeAtomic(p.file, serialize(p.after));
        else await this.files.remove(p.file);
      }
      await this.files.writeAtomic(revisionFile(this.stateDir), `${revision}\n`);
    } catch (err) {
      const rollbackErrors: string[] = [];
      for (const [file, before] of originals) {
        try {
          if (before) await this.files.writeAtomic(file, serialize(before));
          else await this.files.remove(file);
        } catch (e) {
          rollbackErrors.push(`${file}: ${(e as Error).message}`);
        }
      }
      const suffix = rollbackErrors.length
        ? `; restoring the files written before the failure also failed (${rollbackErrors.join('; ')}), restart the control plane to reload from disk`
        : '; nothing was changed';
      throw new L4meshError(
        'L4MESH_ERR_STORE',
        `cannot write the resource store under ${this.stateDir}: ${(err as Error).message}${suffix}; check free disk space and permissions`,
        { cause: err },
      );
    }
    for (const p of plan) {
      if (p.after) this.byKey.set(p.key, p.after);
      else this.byKey.delete(p.key);
    }
  }

  private publish(changes: StoreChange[]): void {
    if (changes.length === 0) return;
    this.history.record(watchEventsOf(changes));
    this.emit('change', { changes } satisfies StoreChangeEvent);
  }
}

function serialize(r: Resource): string {
  return JSON.stringify(r, null, 2) + '\n';
}


async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function loadAll(stateDir: string): Promise<Resource[]> {
  const root = resourcesRoot(stateDir);
  const loaded: Resource[] = [];
  for (const info of KINDS) {
    const kindDir = join(root, info.plural);
    for (const scope of await listDir(kindDir)) {
      const scopeDir = join(kindDir, scope);
      for (const entry of await listDir(scopeDir)) {
        const file = join(scopeDir, entry);
        if (isTempFile(entry)) {
          // A write that was interrupted before its rename; the target still holds the previous version.
          await unlink(file);
          continue;
        }
        if (!entry.endsWith(RESOURCE_FILE_SUFFIX)) continue;
        const r = await loadFile(file);
        // A cluster-scoped kind must sit under _cluster; anything else mismatches its content below.
        const namespace = !info.namespaced && scope === CLUSTER_SCOPE_DIR ? '' : scope;
        const expected = { kind: info.kind, namespace, name: entry.slice(0, -RESOURCE_FILE_SUFFIX.length) };
        const actual = keyOf(r);
        if (keyString(actual) !== keyString(expected)) {
          throw new L4meshError(
            'L4MESH_ERR_STORE',
            `stored resource ${file} holds ${keyString(actual)} but its path says ${keyString(expected)}; the file was moved or edited outside l4mesh, move it back or delete it`,
          );
        }
        checkKey(actual);
        loaded.push(r);
      }
    }
  }
  return loaded;
}

async function loadFile(file: string): Promise<Resource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new L4meshError('L4MESH_ERR_STORE', `cannot read stored resource ${file}: ${(err as Error).message}; check its permissions`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new L4meshError(
      'L4MESH_ERR_STORE',
      `stored resource ${file} is not valid JSON (${(err as Error).message}); l4mesh writes atomically, so the file was changed outside l4mesh: restore it from a backup or delete it`,
      { cause: err },
    );
  }
  const r = parsed as Resource;
  if (!r || typeof r !== 'object' || typeof r.kind !== 'string' || typeof r.metadata?.name !== 'string') {
    throw new L4meshError('L4MESH_ERR_STORE', `stored resource ${file} has no kind or metadata.name; restore it from a backup or delete it`);
  }
  return r;
}
