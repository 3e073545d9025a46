// Manifest texts built to be expensive (not test files themselves): the parser, the resource API and the
// CLI tests share them so each refuses the same input.

/** "Billion laughs": 9 aliases per level, 9^6 = 531,441 strings once expanded. */
export const ALIAS_BOMB = `apiVersion: v1
kind: Service
metadata:
  name: lol
  labels: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
spec:
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
`;

export const ALIAS_BOMB_MESSAGE =
  'document 1: YAML aliases (*name) are used more than 100 times, counting the aliases inside what they repeat, the most a manifest may use ("billion laughs" protection); write the repeated parts out';

/** 100,000 nested flow sequences: ~100 KB that overflowed the composer's stack. */
export const DEEP_NESTING = '['.repeat(100_000);

export const DEEP_NESTING_MESSAGE =
  'document 1: line 1, column 102: mappings and sequences nest more than 100 levels deep, the most a manifest may use; flatten the structure';

/** The body: 1.5 million tiny documents, 13.5 MB, under the 16 MiB body limit. */
export function manyTinyDocuments(): Buffer {
  return Buffer.from('a: 1\n---\n'.repeat(1_500_000));
}

/** One document of ~8 million numbers filling `bytes`: cheap to send, costly in time and memory to parse. */
export function hugeFlowSequence(bytes: number): Buffer {
  const n = Math.floor((bytes - 2) / 2);
  return Buffer.from('[' + '0,'.repeat(n - 1) + '0]');
}

export const TOO_MANY_DOCUMENTS_MESSAGE =
  'the manifests hold more than 10000 documents (counting List items), the most one request may carry; split them into several applies';
