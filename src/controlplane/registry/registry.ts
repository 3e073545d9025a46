// The control plane's registry: a live MeshSource computed from the stored resources, recomputed
// (coalesced) on every store change, keeping unchanged objects identical so xDS can diff by identity.
import { EventEmitter } from 'node:events';
import type { MeshSnapshot } from '../../api/mesh.js';
import { spiffeUri } from '../../identity/spiffe.js';
import type { ConvertedPolicy } from './authorization.js';
import { computeMesh } from './compute.js';
import { resolveOptions, type RegistryInput, type RegistryOptions, type ResolvedOptions } from './options.js';
import type { MeshSource } from './source.js';
import { shareUnchanged } from './structural-sharing.js';
import { VipAllocator, type VipAllocations } from './vip-allocator.js';

export class Registry extends EventEmitter implements MeshSource {
  private readonly opts: ResolvedOptions;
  private readonly vips: VipAllocations;
  private snapshot: MeshSnapshot = { workloads: new Map(), services: new Map(), authorizations: new Map() };
  private policies: ConvertedPolicy[] = [];
  private warnings: string[] = [];
  private lastError: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onInputChange = (): void => this.schedule();

  /** Number of recomputes that changed the snapshot (one 'change' event each). */
  generation = 0;

  constructor(
    private readonly input: RegistryInput,
    options: RegistryOptions = {},
    /** Shared allocations (several replicas on etcd); default: this process's, kept in stateDir. */
    vips?: VipAllocations,
  ) {
    super();
    this.opts = resolveOptions(options);
    this.vips = vips ?? new VipAllocator(this.opts.vipRange, this.opts.stateDir);
    this.vips.onChange?.(this.onInputChange);
    // The first computation runs now, so current() is complete as soon as the registry exists;
    // an error here (unreadable VIP state) should stop start-up, so it is not caught.
    this.apply();
    input.on('change', this.onInputChange);
  }

  current(): MeshSnapshot {
    return this.snapshot;
  }

  identitiesOnNode(node: string): Set<string> {
    const out = new Set<string>();
    for (const w of this.snapshot.workloads.values()) {
      if (w.node === node) out.add(spiffeUri(w.trustDomain, w.namespace, w.serviceAccount));
    }
    return out;
  }

  /**
   * Recomputes now (pending coalesced work included). Returns whether the snapshot changed; emits
   * 'change' when it did. A failure keeps the previous snapshot and is reported through 'error'
   * (when someone listens) and in registryz.
   */
  recompute(): boolean {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    let changed: boolean;
    try {
      changed = this.apply();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err as Error;
      if (this.listenerCount('error') > 0) this.emit('error', err);
      return false;
    }
    if (changed) this.emit('change');
    return changed;
  }

  /** Stops listening to the input and drops pending work. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.input.off?.('change', this.onInputChange);
    this.vips.close?.();
  }

  /** JSON-able dump for /debug/registryz. */
  registryz(): object {
    const { workloads, services, authorizations } = this.snapshot;
    const endpointsOf = (key: string) =>
      [...workloads.values()]
        .filter((w) => w.services[key] !== undefined)
        .map((w) => ({ uid: w.uid, name: w.name, namespace: w.namespace, addresses: w.addresses, node: w.node, status: w.status, ports: w.services[key] }));
    return {
      config: { ...this.opts, stateDir: this.opts.stateDir ?? null },
      generation: this.generation,
      workloads: [...workloads.values()],
      services: [...services.entries()].map(([key, s]) => ({ ...s, endpoints: endpointsOf(key) })),
      policies: [...authorizations.values()],
      policySources: this.policies.map((p) => ({
        kind: p.kind,
        namespace: p.namespace,
        name: p.name,
        ...(p.policy ? { converted: `${p.policy.namespace}/${p.policy.name}` } : {}),
        ...(p.selector ? { selector: p.selector } : {}),
        ...(p.skipped ? { skipped: p.skipped } : {}),
        notes: p.notes,
      })),
      vips: Object.fromEntries(this.vips.allocations()),
      warnings: this.warnings,
      ...(this.lastError ? { lastError: this.lastError.message } : {}),
    };
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    // Changes arriving while a recompute is pending join it: one recompute and at most one 'change'
    // per quiet period, however many documents an apply wrote.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.recompute();
    }, this.opts.debounceMs);
    this.timer.unref();
  }

  private apply(): boolean {
    const next = computeMesh(this.input, this.opts, this.vips);
    this.policies = next.policies;
    this.warnings = next.warnings;
    const w = shareUnchanged(this.snapshot.workloads, next.workloads);
    const s = shareUnchanged(this.snapshot.services, next.services);
    const a = shareUnchanged(this.snapshot.authorizations, next.authorizations);
    const t = shareUnchanged(this.snapshot.telemetries ?? new Map(), next.telemetries);
    if (!w.changed && !s.changed && !a.changed && !t.changed) return false;
    this.snapshot = { workloads: w.map, services: s.map, authorizations: a.map, telemetries: t.map };
    this.generation++;
    return true;
  }
}
