// Finds, by parsing TypeScript, the L4MESH_ERR_* codes declared in the ErrorCode union and those raised in a source tree.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const CODE = /^L4MESH_ERR_[A-Z0-9_]+$/;
/** Operators that make a literal a test of a code someone else raised, not a raise. */
const CHECKS = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);

export interface ErrorCodeScan {
  /** Codes of `export type ErrorCode = ...` in `<root>/errors/index.ts`. */
  union: string[];
  /** Each code raised anywhere under root, with the `file:line` sites raising it. */
  raised: Map<string, string[]>;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

function unionOf(file: string): string[] {
  const codes: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isTypeAliasDeclaration(node) && node.name.text === 'ErrorCode') {
      const members = ts.isUnionTypeNode(node.type) ? node.type.types : [node.type];
      for (const m of members) if (ts.isLiteralTypeNode(m) && ts.isStringLiteral(m.literal)) codes.push(m.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(parse(file));
  return codes;
}

/**
 * A raise site is a string literal that is a whole code and is not a type (`code: 'L4MESH_ERR_X'` in an
 * interface), not compared against (`err.code === ...`) and not a `case` label. Comments never count.
 */
function isRaise(literal: ts.StringLiteralLike): boolean {
  const parent = literal.parent;
  if (ts.isLiteralTypeNode(parent) || ts.isCaseClause(parent)) return false;
  if (ts.isBinaryExpression(parent) && CHECKS.has(parent.operatorToken.kind)) return false;
  return true;
}

export function scanErrorCodes(root: string): ErrorCodeScan {
  const raised = new Map<string, string[]>();
  for (const file of tsFiles(root)) {
    const source = parse(file);
    const visit = (node: ts.Node): void => {
      if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && CODE.test(node.text) && isRaise(node)) {
        const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        const sites = raised.get(node.text) ?? [];
        sites.push(`${relative(root, file)}:${line}`);
        raised.set(node.text, sites);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { union: unionOf(join(root, 'errors', 'index.ts')), raised };
}

/** Codes in the union nobody raises, and codes raised that the union does not have, each sorted. */
export function errorCodeMismatch(scan: ErrorCodeScan): { neverRaised: string[]; notInUnion: string[] } {
  const union = new Set(scan.union);
  return {
    neverRaised: scan.union.filter((c) => !scan.raised.has(c)).sort(),
    notInUnion: [...scan.raised.keys()].filter((c) => !union.has(c)).sort(),
  };
}
