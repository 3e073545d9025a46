// Small resources and a temp state directory for the store's unit tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '../../../src/api/types.js';

export async function tempStateDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function service(name: string, namespace = 'default', port = 9080, labels?: Record<string, string>): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec: { selector: { app: name }, ports: [{ name: 'tcp', port, targetPort: port }] },
  };
}

export function namespaceObject(name: string): Resource {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function pod(name: string, podIP?: string): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: { nodeName: 'node-1', serviceAccountName: 'default' },
    ...(podIP ? { status: { phase: 'Running', podIP } } : {}),
  };
}

/** Every stored object carries these server fields; tests compare them separately. */
export function withoutServerFields(r: Resource): Resource {
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, generation: _g, ...meta } = r.metadata;
  return { ...r, metadata: meta };
}
