// A small declarative schema engine: describes the fields a resource may carry, checks a parsed
// YAML value against it and returns a clean deep copy, or names the first bad field by its path.
import { L4meshError } from '../../errors/index.js';
import { parseDuration } from '../derive.js';

/** One field of an object schema. */
export interface Field {
  schema: Schema;
  required?: boolean;
  /** Accepted on input but left out of the clean copy (server-set or ignored fields). */
  drop?: boolean;
}

/** A semantic check run on the clean copy of an object; returns a problem or undefined. */
export type ObjectCheck = (value: Record<string, unknown>, path: string) => FieldProblem | undefined;

export type Schema =
  | { type: 'string' }
  | { type: 'int'; min?: number; max?: number }
  | { type: 'bool' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'intOrString' }
  | { type: 'duration' }
  | { type: 'array'; items: Schema }
  | { type: 'map'; values: Schema; key?: (key: string) => string | undefined }
  | { type: 'object'; fields: Record<string, Field | Schema>; checks?: ObjectCheck[] }
  | { type: 'any' };

/**
 * The first problem found, with the path of the field (`spec.ports[0].port`). Thrown inside the
 * engine only; callers turn it into an InvalidResourceError that also names the document and resource.
 */
export class FieldProblem extends Error {
  readonly path: string;
  readonly problem: string;
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.path = path;
    this.problem = problem;
  }
}

export const REQUIRED_MISSING = 'required field missing';

// Builders, so schema files read like the upstream field lists.
export const str = (): Schema => ({ type: 'string' });
export const int = (min?: number, max?: number): Schema => ({ type: 'int', min, max });
export const bool = (): Schema => ({ type: 'bool' });
export const enumOf = (...values: string[]): Schema => ({ type: 'enum', values });
export const intOrString = (): Schema => ({ type: 'intOrString' });
export const duration = (): Schema => ({ type: 'duration' });
export const arr = (items: Schema): Schema => ({ type: 'array', items });
export const strings = (): Schema => arr(str());
export const map = (values: Schema, key?: (key: string) => string | undefined): Schema => ({ type: 'map', values, key });
export const stringMap = (): Schema => map(str());
export const any = (): Schema => ({ type: 'any' });
export const obj = (fields: Record<string, Field | Schema>, ...checks: ObjectCheck[]): Schema => ({ type: 'object', fields, checks });
export const required = (schema: Schema): Field => ({ schema, required: true });
export const dropped = (schema: Schema = any()): Field => ({ schema, drop: true });

/** A network port: 1..65535. */
export const PORT_MIN = 1;
export const PORT_MAX = 65535;
export const port = (): Schema => int(PORT_MIN, PORT_MAX);

/** Exactly one of `keys` must be set (protobuf `oneof` where one member is mandatory). */
export function exactlyOne(keys: readonly string[]): ObjectCheck {
  return (value, path) => {
    const set = keys.filter((k) => value[k] !== undefined);
    if (set.length === 1) return undefined;
    const which = set.length === 0 ? 'none is set' : `got ${set.join(', ')}`;
    return new FieldProblem(path, `exactly one of ${keys.join(', ')} must be set, ${which}`);
  };
}

/** How a value's type is named in messages: `string`, `number`, `bool`, `array`, `object`, `null`. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'object') return 'object';
  return typeof value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `spec.selector.app`, or `metadata.labels["app.kubernetes.io/name"]` for keys that need quoting. */
export function childPath(path: string, key: string): string {
  if (SIMPLE_KEY.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

function asField(f: Field | Schema): Field {
  return 'schema' in f ? f : { schema: f };
}

/** Deep copy of free-form YAML data (what `any` fields keep). */
export function copyAny(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyAny);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = copyAny(v);
    return out;
  }
  return value;
}

function expected(path: string, what: string, value: unknown): FieldProblem {
  return new FieldProblem(path, `expected ${what}, got ${typeName(value)}`);
}

/** Checks `value` against `schema`; returns the clean copy or throws FieldProblem. */
export function check(schema: Schema, value: unknown, path: string): unknown {
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') throw expected(path, 'string', value);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw expected(path, 'bool', value);
      return value;
    case 'int':
      return checkInt(schema, value, path);
    case 'enum':
      if (typeof value !== 'string' || !schema.values.includes(value)) {
        throw new FieldProblem(path, `must be one of ${schema.values.join(', ')}, got ${JSON.stringify(value)}`);
      }
      return value;
    case 'intOrString':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      throw expected(path, 'integer or string', value);
    case 'duration':
      if (typeof value !== 'string') throw expected(path, 'duration string such as "5s" or "100ms"', value);
      try {
        parseDuration(value);
      } catch (err) {
        throw new FieldProblem(path, err instanceof L4meshError ? err.message : String(err));
      }
      return value;
    case 'array':
      if (!Array.isArray(value)) throw expected(path, 'array', value);
      return value.map((item, i) => check(schema.items, item, `${path}[${i}]`));
    case 'map':
      return checkMap(schema, value, path);
    case 'object':
      return checkObject(schema, value, path);
    case 'any':
      return copyAny(value);
  }
}

function checkInt(schema: { min?: number; max?: number }, value: unknown, path: string): number {
  if (typeof value !== 'number') throw expected(path, 'integer', value);
  if (!Number.isInteger(value)) throw new FieldProblem(path, `expected integer, got ${value}`);
  const { min, max } = schema;
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    const range = max === undefined ? `at least ${min}` : min === undefined ? `at most ${max}` : `between ${min} and ${max}`;
    throw new FieldProblem(path, `must be ${range}, got ${value}`);
  }
  return value;
}

function checkMap(schema: Extract<Schema, { type: 'map' }>, value: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw expected(path, 'map', value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const p = childPath(path, k);
    const keyProblem = schema.key?.(k);
    if (keyProblem) throw new FieldProblem(p, keyProblem);
    out[k] = check(schema.values, v, p);
  }
  return out;
}

function checkObject(schema: Extract<Schema, { type: 'object' }>, value: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw expected(path, 'object', value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const p = childPath(path, k);
    const f = schema.fields[k];
    if (f === undefined) throw new FieldProblem(p, `unknown field ${JSON.stringify(k)}`);
    const field = asField(f);
    // YAML `key:` with no value is null; Kubernetes treats that as absent, and so do we.
    if (v === null || v === undefined) continue;
    const clean = check(field.schema, v, p);
    if (!field.drop) out[k] = clean;
  }
  for (const [k, f] of Object.entries(schema.fields)) {
    if (asField(f).required && out[k] === undefined) throw new FieldProblem(childPath(path, k), REQUIRED_MISSING);
  }
  for (const c of schema.checks ?? []) {
    const problem = c(out, path);
    if (problem) throw problem;
  }
  return out;
}

/** What one kind may carry besides apiVersion, kind and metadata. */
export interface KindSchema {
  /** Absent: the kind has no spec (ServiceAccount). */
  spec?: Schema;
  /** Absent: a status on input is accepted and dropped (only the store's runtime writes status). */
  status?: Schema;
  /** Further top-level fields, e.g. ServiceAccount's `secrets`. */
  topLevel?: Record<string, Field | Schema>;
}
