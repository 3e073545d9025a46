// Parses multi-document YAML manifests (what `l4mesh apply -f` reads) into validated resources.
// All or nothing: the first bad document throws and no resource is returned.
import { LineCounter, parseAllDocuments } from 'yaml';
import { L4meshError } from '../errors/index.js';
import { isPlainObject, typeName } from './schema/engine.js';
import { validateResource } from './schema/resource.js';
import type { Resource } from './types.js';

export { validateResource, DEFAULT_NAMESPACE } from './schema/resource.js';

/**
 * Parses every document of `text`, skipping empty ones, expanding `kind: List` items, and validates
 * each. Documents are numbered from 1 by their position in the text (empty ones count), so the
 * number in an error is the one an operator counts with `---` separators.
 */
export function parseManifests(text: string): Resource[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const values: Array<{ index: number; value: unknown }> = [];
  docs.forEach((doc, i) => {
    const index = i + 1;
    const error = doc.errors[0];
    if (error) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      throw new L4meshError('L4MESH_ERR_YAML', `document ${index}: line ${line}, column ${col}: ${firstLine(error.message)}`, {
        cause: error,
      });
    }
    const value: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    if (value === null || value === undefined) return;
    values.push({ index, value });
  });

  const resources: Resource[] = [];
  for (const { index, value } of values) {
    if (isPlainObject(value) && value['kind'] === 'List') {
      const items = value['items'] ?? [];
      if (!Array.isArray(items)) {
        throw new L4meshError('L4MESH_ERR_INVALID_RESOURCE', `document ${index}: List items must be an array, got ${typeName(items)}`);
      }
      for (const item of items) resources.push(validateResource(item, index));
      continue;
    }
    resources.push(validateResource(value, index));
  }
  return resources;
}

/** Caps alias expansion ("billion laughs"); real manifests use few or no aliases. */
const MAX_ALIAS_COUNT = 100;

function firstLine(message: string): string {
  const nl = message.indexOf('\n');
  return (nl >= 0 ? message.slice(0, nl) : message).trim();
}
