// Keeps object identity across recomputes: an object equal to its previous version is replaced by that
// previous (frozen) object, so consumers such as the xDS server detect changes with `===`.

/** Structural equality of JSON-like values (plain objects, arrays, strings, numbers, booleans, null). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  for (const k of ak) {
    if (!Object.prototype.hasOwnProperty.call(bo, k) || !deepEqual(ao[k], bo[k])) return false;
  }
  return true;
}

/** Freezes a JSON-like value and everything in it; a snapshot handed to consumers must not change under them. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Builds the next map from `next`, reusing objects of `prev` that are deep-equal. Returns the map and
 * whether anything differs (an entry added, removed or changed). When nothing differs the previous map
 * itself is returned, so an unchanged collection keeps its identity too.
 */
export function shareUnchanged<T>(prev: Map<string, T>, next: Map<string, T>): { map: Map<string, T>; changed: boolean } {
  let changed = prev.size !== next.size;
  const out = new Map<string, T>();
  for (const [key, value] of next) {
    const old = prev.get(key);
    if (old !== undefined && deepEqual(old, value)) {
      out.set(key, old);
    } else {
      out.set(key, deepFreeze(value));
      changed = true;
    }
  }
  if (!changed) return { map: prev, changed: false };
  return { map: out, changed: true };
}
