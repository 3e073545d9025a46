// Keeps a local copy of one kind's objects in step with the control plane: list, then watch from the
// list's resourceVersion; a broken stream resumes from the last version seen, a 410 lists again.
import type { KindInfo } from '../../api/kinds.js';
import type { Resource } from '../../api/types.js';
import { collectionPathOf, watchCollection, WatchError, type WatchEvent } from './watch-client.js';

/** First wait after a failed list or watch; doubles up to the maximum, so a stopped control plane costs little. */
export const INFORMER_RETRY_INITIAL_MS = 250;
export const INFORMER_RETRY_MAX_MS = 5_000;

export interface InformerSource {
  address: string;
  token: string;
  /** A list of the collection with its resourceVersion. */
  listWithVersion(info: KindInfo, namespace: string | undefined): Promise<{ items: Resource[]; resourceVersion: string }>;
}

export interface InformerOptions {
  /** Called after the first list and after every change to the local copy. */
  onChange: (event: WatchEvent | undefined) => void;
  /** Told about each failed list or watch before the retry. */
  onError?: (err: Error) => void;
}

function keyOf(r: Resource): string {
  return `${r.metadata.namespace ?? ''}/${r.metadata.name}`;
}

export class ResourceInformer {
  private readonly objects = new Map<string, Resource>();
  private readonly abort = new AbortController();
  private resourceVersion: string | undefined;
  private running: Promise<void> | undefined;
  /** Resolves once the first list has filled the local copy. */
  readonly synced: Promise<void>;
  private markSynced!: () => void;

  constructor(
    private readonly source: InformerSource,
    private readonly info: KindInfo,
    private readonly namespace: string | undefined,
    private readonly options: InformerOptions,
  ) {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** The local copy, in no particular order. */
  items(): Resource[] {
    return [...this.objects.values()];
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    let delay = INFORMER_RETRY_INITIAL_MS;
    for (let attempt = 0; !this.abort.signal.aborted; attempt++) {
      try {
        if (this.resourceVersion === undefined) await this.relist();
        await watchCollection(
          { address: this.source.address, token: this.source.token, path: collectionPathOf(this.info, this.namespace), resourceVersion: this.resourceVersion, signal: this.abort.signal },
          (e) => {
            delay = INFORMER_RETRY_INITIAL_MS;
            this.applyEvent(e);
          },
        );
        // The server ended the stream (e.g. shutting down): resume right away from the last version.
        continue;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        // 410: the history we would resume from is gone; start over from a fresh list.
        if (err instanceof WatchError && err.status === 410) this.resourceVersion = undefined;
        this.options.onError?.(err as Error);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.abort.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      delay = Math.min(delay * 2, INFORMER_RETRY_MAX_MS);
    }
  }

  private async relist(): Promise<void> {
    const list = await this.source.listWithVersion(this.info, this.namespace);
    this.objects.clear();
    for (const r of list.items) this.objects.set(keyOf(r), r);
    this.resourceVersion = list.resourceVersion;
    this.markSynced();
    this.options.onChange(undefined);
  }

  private applyEvent(e: WatchEvent): void {
    if (e.type === 'DELETED') this.objects.delete(keyOf(e.object));
    else this.objects.set(keyOf(e.object), e.object);
    this.resourceVersion = e.object.metadata.resourceVersion ?? this.resourceVersion;
    this.options.onChange(e);
  }
}
