// The few Reflect metadata functions that tsyringe (used inside @peculiar/x509) requires at load time.
// Node has no Reflect metadata API and the reflect-metadata package is not a dependency, so we install a
// small WeakMap-backed stand-in; a real polyfill loaded earlier is left untouched.

type MetadataKey = unknown;
type PropertyKeyOrNone = string | symbol | undefined;

const metadataByTarget = new WeakMap<object, Map<PropertyKeyOrNone, Map<MetadataKey, unknown>>>();

function ownMetadataMap(target: object, property: PropertyKeyOrNone, create: boolean): Map<MetadataKey, unknown> | undefined {
  let byProperty = metadataByTarget.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    metadataByTarget.set(target, byProperty);
  }
  let values = byProperty.get(property);
  if (!values && create) {
    values = new Map();
    byProperty.set(property, values);
  }
  return values;
}

function defineMetadata(key: MetadataKey, value: unknown, target: object, property?: string | symbol): void {
  ownMetadataMap(target, property, true)!.set(key, value);
}

function getOwnMetadata(key: MetadataKey, target: object, property?: string | symbol): unknown {
  return ownMetadataMap(target, property, false)?.get(key);
}

function getMetadata(key: MetadataKey, target: object, property?: string | symbol): unknown {
  // Bounded walk up the prototype chain, as the real API does for inherited metadata.
  for (let current: object | null = target, depth = 0; current && depth < 64; current = Object.getPrototypeOf(current), depth++) {
    const values = ownMetadataMap(current, property, false);
    if (values?.has(key)) return values.get(key);
  }
  return undefined;
}

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect['getMetadata'] !== 'function') {
  reflect['defineMetadata'] = defineMetadata;
  reflect['getOwnMetadata'] = getOwnMetadata;
  reflect['getMetadata'] = getMetadata;
}
