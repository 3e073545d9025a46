// Validates one parsed YAML document as an l4mesh resource: kind and apiVersion, metadata, then the
// spec against its kind's schema. Returns a clean copy; the first problem is thrown with its path.
import { InvalidResourceError, L4meshError } from '../../errors/index.js';
import { ACCEPTED_VERSIONS, KINDS, apiVersionOf, kindByName, type KindInfo } from '../kinds.js';
import type { ObjectMeta, Resource } from '../types.js';
import { APPS_SCHEMAS } from './apps.js';
import { CORE_SCHEMAS } from './core.js';
import { FieldProblem, REQUIRED_MISSING, check, childPath, isPlainObject, typeName, type KindSchema } from './engine.js';
import { labelValueProblem, nameProblem, nameRuleOf, objectMeta } from './metadata.js';
import { NETWORKING_SCHEMAS } from './networking.js';
import { SECURITY_SCHEMAS } from './security.js';
import { TELEMETRY_SCHEMAS } from './telemetry.js';

/** Namespaced resources without `metadata.namespace` land here, as with kubectl. */
export const DEFAULT_NAMESPACE = 'default';

export const KIND_SCHEMAS: Readonly<Record<string, KindSchema>> = {
  ...CORE_SCHEMAS,
  ...APPS_SCHEMAS,
  ...NETWORKING_SCHEMAS,
  ...SECURITY_SCHEMAS,
  ...TELEMETRY_SCHEMAS,
};

const ENVELOPE_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/**
 * Checks one document (numbered from 1 for messages) and returns a clean deep copy: apiVersion
 * normalized to the stored version, namespace defaulted, server-set metadata and status dropped
 * (status is kept for Pods, which the local runtime writes).
 */
export function validateResource(obj: unknown, documentIndex: number): Resource {
  if (!isPlainObject(obj)) {
    throw new L4meshError(
      'L4MESH_ERR_INVALID_RESOURCE',
      `document ${documentIndex}: expected a mapping with apiVersion, kind and metadata, got ${typeName(obj)}`,
    );
  }
  const meta = obj['metadata'];
  const rawName = isPlainObject(meta) && typeof meta['name'] === 'string' ? meta['name'] : '';
  const rawKind = typeof obj['kind'] === 'string' ? obj['kind'] : '';
  const fail = (path: string, problem: string) => new InvalidResourceError(documentIndex, rawKind, rawName, path, problem);

  const kind = requiredString(obj, 'kind', fail);
  const apiVersion = requiredString(obj, 'apiVersion', fail);
  const info = resolveKindVersion(kind, apiVersion, documentIndex);
  const schema = KIND_SCHEMAS[kind];
  if (!schema) throw new L4meshError('L4MESH_ERR_UNKNOWN_KIND', `document ${documentIndex}: kind "${kind}" has no schema`);

  try {
    for (const key of Object.keys(obj)) {
      if (!ENVELOPE_FIELDS.has(key) && !(schema.topLevel && key in schema.topLevel)) {
        throw new FieldProblem(key, `unknown field ${JSON.stringify(key)}`);
      }
    }
    const out: Resource = { apiVersion: apiVersionOf(info), kind, metadata: checkMetadata(meta, info) };
    const spec = obj['spec'];
    if (spec !== undefined && spec !== null && !schema.spec) throw new FieldProblem('spec', 'unknown field "spec"');
    if (schema.spec) {
      // An absent spec is checked as an empty one so that required spec fields are still reported.
      const clean = check(schema.spec, spec ?? {}, 'spec');
      if (spec !== undefined && spec !== null) out.spec = clean as Record<string, unknown>;
    }
    const status = obj['status'];
    if (schema.status && status !== undefined && status !== null) {
      out.status = check(schema.status, status, 'status') as Record<string, unknown>;
    }
    for (const [key, field] of Object.entries(schema.topLevel ?? {})) {
      const value = obj[key];
      if (value === undefined || value === null) continue;
      const fieldSchema = 'schema' in field ? field.schema : field;
      (out as unknown as Record<string, unknown>)[key] = check(fieldSchema, value, key);
    }
    return out;
  } catch (err) {
    if (err instanceof FieldProblem) throw fail(err.path, err.problem);
    throw err;
  }
}

function requiredString(
  obj: Record<string, unknown>,
  key: string,
  fail: (path: string, problem: string) => InvalidResourceError,
): string {
  const value = obj[key];
  if (value === undefined || value === null || value === '') throw fail(key, REQUIRED_MISSING);
  if (typeof value !== 'string') throw fail(key, `expected string, got ${typeName(value)}`);
  return value;
}

function resolveKindVersion(kind: string, apiVersion: string, documentIndex: number): KindInfo {
  const info = kindByName(kind);
  if (!info) {
    const known = KINDS.map((k) => k.kind).join(', ');
    throw new L4meshError(
      'L4MESH_ERR_UNKNOWN_KIND',
      `document ${documentIndex}: unknown kind "${kind}" (apiVersion ${apiVersion}); known kinds: ${known}`,
    );
  }
  const slash = apiVersion.indexOf('/');
  const group = slash >= 0 ? apiVersion.slice(0, slash) : '';
  const version = slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion;
  const accepted = ACCEPTED_VERSIONS[info.group] ?? [info.version];
  if (group !== info.group || !accepted.includes(version)) {
    const spellings = accepted.map((v) => (info.group ? `${info.group}/${v}` : v)).join(', ');
    throw new L4meshError(
      'L4MESH_ERR_UNKNOWN_KIND',
      `document ${documentIndex}: kind "${kind}" is not served at apiVersion "${apiVersion}"; accepted apiVersions: ${spellings}`,
    );
  }
  return info;
}

function checkMetadata(meta: unknown, info: KindInfo): ObjectMeta {
  if (meta === undefined || meta === null) throw new FieldProblem('metadata', REQUIRED_MISSING);
  const clean = check(objectMeta, meta, 'metadata') as Record<string, unknown> & ObjectMeta;
  const nameIssue = nameProblem(clean.name, nameRuleOf(info.kind));
  if (nameIssue) throw new FieldProblem('metadata.name', nameIssue);
  for (const [key, value] of Object.entries(clean.labels ?? {})) {
    const issue = labelValueProblem(value);
    if (issue) throw new FieldProblem(childPath('metadata.labels', key), issue);
  }
  if (!info.namespaced) {
    // Cluster-scoped: a namespace in the input means nothing, as kubectl ignores it.
    delete clean.namespace;
    return clean;
  }
  if (clean.namespace === undefined || clean.namespace === '') clean.namespace = DEFAULT_NAMESPACE;
  const nsIssue = nameProblem(clean.namespace, 'dns1123Label');
  if (nsIssue) throw new FieldProblem('metadata.namespace', nsIssue);
  return clean;
}
