// Join tokens that let a node proxy call the CA: only SHA-256 hashes are stored, so the file reveals no token.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { L4meshError } from '../../errors/index.js';
import { writeFileAtomic } from '../../config/secret-file.js';
import { nodeTokensFile } from '../../config/state-layout.js';

const TOKEN_PREFIX = 'l4n_';
/** 24 random bytes = 192 bits, printed as 32 base64url characters: unguessable and shell-safe. */
const TOKEN_RANDOM_BYTES = 24;
/** Node names become part of the token; keep them to what a hostname or Kubernetes node name uses. */
const NODE_NAME_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const FILE_VERSION = 1;

interface StoredToken {
  node: string;
  /** Hex SHA-256 of the whole token string. */
  sha256: string;
  createdAt: string;
}

interface TokenFile {
  version: number;
  tokens: StoredToken[];
}

/** What the CA and xDS admission need from node tokens: this file store, or the shared one on etcd. */
export interface NodeTokens {
  create(node: string): Promise<string>;
  revokeNode(node: string): Promise<number>;
  /** The node a token belongs to, or undefined. */
  verify(token: string): string | undefined;
  nodes(): string[];
}

/** A new token for `node` and the hash to store; the token itself is never stored. */
export function mintNodeToken(node: string): { token: string; sha256: string } {
  if (!NODE_NAME_PATTERN.test(node)) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `node name "${node}" is not valid: use letters, digits, '.' and '-', starting and ending alphanumeric`);
  }
  const token = `${TOKEN_PREFIX}${node}_${randomBytes(TOKEN_RANDOM_BYTES).toString('base64url')}`;
  return { token, sha256: sha256Hex(token) };
}

export class NodeTokenStore implements NodeTokens {
  readonly path: string;
  #tokens: StoredToken[];
  /** mtime of the file we last read or wrote: a change means another process (the CLI) issued tokens. */
  #loadedMtimeMs: number;

  private constructor(path: string, tokens: StoredToken[], mtimeMs: number) {
    this.path = path;
    this.#tokens = tokens;
    this.#loadedMtimeMs = mtimeMs;
  }

  /** Opens `<stateDir>/node-tokens.json` (absent: no tokens yet). */
  static async open(stateDir: string): Promise<NodeTokenStore> {
    const path = nodeTokensFile(stateDir);
    const { tokens, mtimeMs } = readTokenFile(path);
    return new NodeTokenStore(path, tokens, mtimeMs);
  }

  /** Issues a new token for `node` (earlier tokens stay valid) and persists its hash. */
  async create(node: string): Promise<string> {
    const { token, sha256 } = mintNodeToken(node);
    this.#reloadIfChanged();
    const tokens = [...this.#tokens, { node, sha256, createdAt: new Date().toISOString() }];
    await this.#persist(tokens);
    return token;
  }

  /** Removes every token of `node`; returns how many were removed. */
  async revokeNode(node: string): Promise<number> {
    this.#reloadIfChanged();
    const kept = this.#tokens.filter((entry) => entry.node !== node);
    const removed = this.#tokens.length - kept.length;
    if (removed > 0) await this.#persist(kept);
    return removed;
  }

  /** The node a token belongs to, or undefined. Compares every stored hash in constant time. */
  verify(token: string): string | undefined {
    const found = this.#match(token);
    if (found !== undefined) return found;
    // Unknown here, but maybe issued by another process since we last read the file.
    return this.#reloadIfChanged() ? this.#match(token) : undefined;
  }

  /** Node names that have at least one token, sorted. */
  nodes(): string[] {
    return [...new Set(this.#tokens.map((entry) => entry.node))].sort();
  }

  #match(token: string): string | undefined {
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let found: string | undefined;
    // No early exit: the time taken does not depend on which entry (if any) matched.
    for (const entry of this.#tokens) {
      const stored = Buffer.from(entry.sha256, 'hex');
      if (stored.length === presented.length && timingSafeEqual(stored, presented) && found === undefined) found = entry.node;
    }
    return found;
  }

  async #persist(tokens: StoredToken[]): Promise<void> {
    const file: TokenFile = { version: FILE_VERSION, tokens };
    await writeFileAtomic(this.path, JSON.stringify(file, null, 2) + '\n');
    this.#tokens = tokens;
    this.#loadedMtimeMs = statSync(this.path).mtimeMs;
  }

  #reloadIfChanged(): boolean {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.path).mtimeMs;
    } catch {
      return false;
    }
    if (mtimeMs === this.#loadedMtimeMs) return false;
    const loaded = readTokenFile(this.path);
    this.#tokens = loaded.tokens;
    this.#loadedMtimeMs = loaded.mtimeMs;
    return true;
  }
}

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function readTokenFile(path: string): { tokens: StoredToken[]; mtimeMs: number } {
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { tokens: [], mtimeMs: 0 };
    throw error;
  }
  let parsed: Partial<TokenFile>;
  try {
    parsed = JSON.parse(text) as Partial<TokenFile>;
  } catch (error) {
    throw new L4meshError('L4MESH_ERR_STORE', `${path} is not valid JSON (${(error as Error).message}); restore it or delete it and re-issue node tokens`);
  }
  if (parsed.version !== FILE_VERSION || !Array.isArray(parsed.tokens)) {
    throw new L4meshError('L4MESH_ERR_STORE', `${path} is not a version ${FILE_VERSION} node token file; restore it or delete it and re-issue node tokens`);
  }
  const tokens = parsed.tokens.filter(
    (entry): entry is StoredToken => typeof entry?.node === 'string' && typeof entry.sha256 === 'string' && /^[0-9a-f]{64}$/.test(entry.sha256),
  );
  return { tokens, mtimeMs };
}
