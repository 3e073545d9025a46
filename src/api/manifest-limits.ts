// What one manifest text may cost to parse: its size, its number of documents, how deep it nests and
// how far its aliases expand. Shared by the control plane (which enforces them) and the CLI (which
// stops reading a file at the size limit instead of sending it).

/** Far above any real manifest set (Bookinfo is ~20 KiB), small enough that a stray upload cannot exhaust memory. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/**
 * Documents (and `kind: List` items) in one request. Bookinfo is 20, a large mesh's whole config a
 * few thousand; 10,000 leaves room while a request of 1.5 million tiny documents (45 s and 2.5 GiB
 * of parsing before this limit) is refused after the first 10,001.
 */
export const MAX_DOCUMENTS = 10_000;

/**
 * Nesting of mappings and sequences. A Deployment nests ~12 levels and CRD schemas ~30; the YAML
 * composer recurses once per level and overflows the stack near 800, so 100 keeps far from it.
 */
export const MAX_NESTING_DEPTH = 100;

/**
 * Nodes that alias expansion may produce, relative to the document (the `yaml` library's
 * maxAliasCount). Real manifests use few or no aliases; "billion laughs" needs millions.
 */
export const MAX_ALIAS_COUNT = 100;

/** The limits one parse enforces; tests pass smaller ones, production uses the constants above. */
export interface ManifestLimits {
  maxDocuments: number;
  maxNestingDepth: number;
  maxAliasCount: number;
}

export const DEFAULT_MANIFEST_LIMITS: Readonly<ManifestLimits> = {
  maxDocuments: MAX_DOCUMENTS,
  maxNestingDepth: MAX_NESTING_DEPTH,
  maxAliasCount: MAX_ALIAS_COUNT,
};
