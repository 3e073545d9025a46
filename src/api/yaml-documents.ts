// Reads the documents of a YAML (or JSON) text one at a time under the limits of manifest-limits.ts:
// nesting is checked while the text is tokenized, before the recursive composer sees a level too many,
// the document count is checked as each document completes, alias expansion when it is converted.
import { Composer, Lexer, Parser, type CST, type Document } from 'yaml';
import { L4meshError } from '../errors/index.js';
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from './manifest-limits.js';

export interface YamlDocument {
  /** Position in the text from 1, counting empty documents, as an operator counts `---` separators. */
  index: number;
  /** The document as plain data; null or undefined for an empty document. */
  value: unknown;
}

/** 1-based line and column of `offset`, computed only when an error needs them (no per-line table kept). */
export function linePos(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}

function firstLine(message: string): string {
  const nl = message.indexOf('\n');
  return (nl >= 0 ? message.slice(0, nl) : message).trim();
}

export function tooManyDocuments(max: number): L4meshError {
  return new L4meshError(
    'L4MESH_ERR_TOO_MANY_DOCUMENTS',
    `the manifests hold more than ${max} documents (counting List items), the most one request may carry; split them into several applies`,
  );
}

function toPlain(doc: Document.Parsed, index: number, text: string, limits: ManifestLimits): unknown {
  const error = doc.errors[0];
  if (error) {
    const { line, col } = linePos(text, error.pos[0]);
    throw new L4meshError('L4MESH_ERR_YAML', `document ${index}: line ${line}, column ${col}: ${firstLine(error.message)}`, { cause: error });
  }
  try {
    return doc.toJS({ maxAliasCount: limits.maxAliasCount });
  } catch (err) {
    // The `yaml` library reports alias expansion past maxAliasCount as a ReferenceError.
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      throw new L4meshError(
        'L4MESH_ERR_YAML_TOO_MANY_ALIASES',
        `document ${index}: YAML aliases (*name) are used more than ${limits.maxAliasCount} times, counting the aliases inside what they repeat, the most a manifest may use ("billion laughs" protection); write the repeated parts out`,
        { cause: err },
      );
    }
    throw err;
  }
}

const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

function collectionDepth(stack: readonly CST.Token[]): number {
  let depth = 0;
  for (const token of stack) if (COLLECTIONS.has(token.type)) depth++;
  return depth;
}

/**
 * Yields each document of `text` as plain data, in order. Throws, with the document number and
 * position, the first syntax error, a nesting deeper than `limits.maxNestingDepth`, more than
 * `limits.maxDocuments` documents, or aliases expanding past `limits.maxAliasCount`.
 */
export function* readYamlDocuments(text: string, limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS): Generator<YamlDocument> {
  const parser = new Parser();
  const composer = new Composer({ prettyErrors: false });
  let index = 0;
  let cstDocuments = 0;
  const emit = function* (docs: Iterable<Document.Parsed>): Generator<YamlDocument> {
    for (const doc of docs) {
      index++;
      if (index > limits.maxDocuments) throw tooManyDocuments(limits.maxDocuments);
      yield { index, value: toPlain(doc, index, text, limits) };
    }
  };
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) {
      if (token.type === 'document') cstDocuments++;
      yield* emit(composer.next(token));
    }
    // The parser's stack holds the document, one entry per open collection and the token being read;
    // the cheap length test first, the exact count only near the limit.
    if (parser.stack.length - 1 > limits.maxNestingDepth && collectionDepth(parser.stack) > limits.maxNestingDepth) {
      const { line, col } = linePos(text, parser.offset);
      throw new L4meshError(
        'L4MESH_ERR_YAML_TOO_DEEP',
        `document ${cstDocuments + 1}: line ${line}, column ${col}: mappings and sequences nest more than ${limits.maxNestingDepth} levels deep, the most a manifest may use; flatten the structure`,
      );
    }
  }
  for (const token of parser.end()) yield* emit(composer.next(token));
  yield* emit(composer.end(text.length > 0, text.length));
}
