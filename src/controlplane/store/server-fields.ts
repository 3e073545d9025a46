// The fields the store owns (uid, creationTimestamp, generation, resourceVersion) and when a write changes anything.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { ApplyAction, Resource, ResourceKey } from '../../api/types.js';
import { L4meshError } from '../../errors/index.js';

/** RFC 3339 with whole seconds, as Kubernetes writes creationTimestamp. */
export function rfc3339Seconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An absent map and an empty one mean the same to a user. */
function mapOrEmpty(m: Record<string, unknown> | undefined): Record<string, unknown> {
  return m ?? {};
}

/** Top-level fields that are not desired state: envelope, metadata, and status (reported, not desired). */
const NOT_DESIRED_STATE = new Set(['apiVersion', 'kind', 'metadata', 'status']);

/**
 * The desired state of a resource: its spec, plus the few top-level fields some kinds have instead of a
 * spec (ServiceAccount's automountServiceAccountToken, for instance).
 */
function desiredState(r: Resource): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (!NOT_DESIRED_STATE.has(k) && v !== undefined) out[k] = v;
  if (out['spec'] === undefined) out['spec'] = {};
  return out;
}

function specEqual(a: Resource, b: Resource): boolean {
  return isDeepStrictEqual(desiredState(a), desiredState(b));
}

/**
 * True when `incoming` would change nothing a user can set: labels, annotations, spec (and any other
 * desired-state field at the top level), and for Pods the
 * status (the local runtime reports a Pod's phase and IP through it).
 */
export function sameContent(stored: Resource, incoming: Resource): boolean {
  return (
    isDeepStrictEqual(mapOrEmpty(stored.metadata.labels), mapOrEmpty(incoming.metadata.labels)) &&
    isDeepStrictEqual(mapOrEmpty(stored.metadata.annotations), mapOrEmpty(incoming.metadata.annotations)) &&
    specEqual(stored, incoming) &&
    (incoming.kind !== 'Pod' || isDeepStrictEqual(stored.status ?? {}, incoming.status ?? {}))
  );
}

export function actionFor(stored: Resource | undefined, incoming: Resource): ApplyAction {
  if (!stored) return 'created';
  return sameContent(stored, incoming) ? 'unchanged' : 'configured';
}

/**
 * The object the store keeps for `incoming`: a private copy with server fields set. uid and
 * creationTimestamp survive updates; generation counts desired-state (spec) changes.
 */
export function stampResource(incoming: Resource, stored: Resource | undefined, resourceVersion: number, now: Date): Resource {
  const copy = structuredClone(incoming);
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, generation: _gen, ...userMeta } = copy.metadata;
  const generation = stored ? (stored.metadata.generation ?? 1) + (specEqual(stored, incoming) ? 0 : 1) : 1;
  copy.metadata = {
    ...userMeta,
    resourceVersion: String(resourceVersion),
    uid: stored?.metadata.uid ?? randomUUID(),
    creationTimestamp: stored?.metadata.creationTimestamp ?? rfc3339Seconds(now),
    generation,
  };
  return deepFreeze(copy);
}

/** Stored objects are shared with every reader, so they are frozen instead of copied on each read. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/** The resource with a different resourceVersion, for the copy handed out on deletion. */
export function withResourceVersion(r: Resource, resourceVersion: number): Resource {
  return deepFreeze({ ...r, metadata: { ...r.metadata, resourceVersion: String(resourceVersion) } });
}

/**
 * An update that names the resourceVersion it was based on fails with L4MESH_ERR_CONFLICT when the
 * stored object has changed since (or is gone), so a read-modify-write never overwrites a newer write.
 */
export function checkPrecondition(stored: Resource | undefined, key: ResourceKey, expected: string | undefined): void {
  if (expected === undefined) return;
  const what = `${key.kind} ${key.namespace ? key.namespace + '/' : ''}${key.name}`;
  if (!stored) {
    throw new L4meshError('L4MESH_ERR_NOT_FOUND', `${what} does not exist, so it cannot be at resourceVersion ${expected}; leave metadata.resourceVersion out to create it`);
  }
  if (stored.metadata.resourceVersion !== expected) {
    throw new L4meshError(
      'L4MESH_ERR_CONFLICT',
      `${what} has been modified: it is at resourceVersion ${stored.metadata.resourceVersion}, the request was made against ${expected}; get it again, reapply your change and retry`,
    );
  }
}

/** Resources of one kind and/or namespace (all when undefined), sorted by namespace, name, then kind: what every store's list() answers. */
export function listResources(resources: Iterable<Resource>, kind?: string, namespace?: string): Resource[] {
  const out: Resource[] = [];
  for (const r of resources) {
    if (kind !== undefined && r.kind !== kind) continue;
    if (namespace !== undefined && (r.metadata.namespace ?? '') !== namespace) continue;
    out.push(r);
  }
  return out.sort(compareResources);
}

function compareResources(a: Resource, b: Resource): number {
  const an = a.metadata.namespace ?? '';
  const bn = b.metadata.namespace ?? '';
  if (an !== bn) return an < bn ? -1 : 1;
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  return a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0;
}
