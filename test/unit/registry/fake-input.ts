// A stand-in for the ResourceStore: resources in memory, 'change' emitted on every write.
import { EventEmitter } from 'node:events';
import type { Resource } from '../../../src/api/types.js';

export class FakeInput extends EventEmitter {
  private readonly items = new Map<string, Resource>();

  constructor(resources: Resource[] = []) {
    super();
    for (const r of resources) this.items.set(keyOf(r), r);
  }

  list(kind?: string): Resource[] {
    return [...this.items.values()].filter((r) => kind === undefined || r.kind === kind);
  }

  put(r: Resource): void {
    this.items.set(keyOf(r), r);
    this.emit('change');
  }

  remove(kind: string, namespace: string, name: string): void {
    this.items.delete(`${kind}/${namespace}/${name}`);
    this.emit('change');
  }
}

function keyOf(r: Resource): string {
  return `${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`;
}

export function pod(name: string, namespace: string, opts: {
  ip?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  node?: string;
  serviceAccount?: string;
  containerPorts?: Array<{ name: string; containerPort: number }>;
  phase?: string;
  ready?: 'True' | 'False';
  owner?: { kind: string; name: string };
} = {}): Resource {
  const metadata: Resource['metadata'] & { ownerReferences?: unknown[] } = { name, namespace };
  if (opts.labels) metadata.labels = opts.labels;
  if (opts.annotations) metadata.annotations = opts.annotations;
  if (opts.owner) metadata.ownerReferences = [{ apiVersion: 'apps/v1', ...opts.owner }];
  const spec: Record<string, unknown> = { containers: [{ name: 'app', ports: opts.containerPorts ?? [] }] };
  if (opts.node) spec['nodeName'] = opts.node;
  if (opts.serviceAccount) spec['serviceAccountName'] = opts.serviceAccount;
  const status: Record<string, unknown> = { phase: opts.phase ?? 'Running', conditions: [{ type: 'Ready', status: opts.ready ?? 'True' }] };
  if (opts.ip) status['podIP'] = opts.ip;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec, status };
}

export function service(name: string, namespace: string, spec: Record<string, unknown>, labels?: Record<string, string>): Resource {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec };
}
