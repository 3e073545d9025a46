// Parses multi-document YAML manifests (what `l4mesh apply -f` reads) into validated resources.
// All or nothing: the first bad document throws and no resource is returned.
import { L4meshError } from '../errors/index.js';
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from './manifest-limits.js';
import { isPlainObject, typeName } from './schema/engine.js';
import { validateResource } from './schema/resource.js';
import type { Resource } from './types.js';
import { readYamlDocuments, tooManyDocuments } from './yaml-documents.js';

export { validateResource, DEFAULT_NAMESPACE } from './schema/resource.js';

/**
 * Parses every document of `text`, skipping empty ones, expanding `kind: List` items, and validates
 * each. Documents are numbered from 1 by their position in the text (empty ones count), so the
 * number in an error is the one an operator counts with `---` separators. `limits` bound the cost
 * (see manifest-limits.ts); documents and List items together count towards `maxDocuments`.
 */
export function parseManifests(text: string, limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS): Resource[] {
  // Every document parses before any is validated, so a syntax error anywhere is reported first.
  const values: Array<{ index: number; value: unknown }> = [];
  for (const doc of readYamlDocuments(text, limits)) if (doc.value !== null && doc.value !== undefined) values.push(doc);
  const resources: Resource[] = [];
  for (const { index, value } of values) {
    if (isPlainObject(value) && value['kind'] === 'List') {
      const items = value['items'] ?? [];
      if (!Array.isArray(items)) {
        throw new L4meshError('L4MESH_ERR_INVALID_RESOURCE', `document ${index}: List items must be an array, got ${typeName(items)}`);
      }
      if (resources.length + items.length > limits.maxDocuments) throw tooManyDocuments(limits.maxDocuments);
      for (const item of items) resources.push(validateResource(item, index));
      continue;
    }
    if (resources.length + 1 > limits.maxDocuments) throw tooManyDocuments(limits.maxDocuments);
    resources.push(validateResource(value, index));
  }
  return resources;
}
