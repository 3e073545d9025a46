// The control plane's admin token: created once per state directory, required by the resource API.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { L4meshError } from '../../errors/index.js';
import { adminTokenPath } from '../../config/state-layout.js';
import { durableFiles } from './durable-files.js';

/** 32 random bytes = 256 bits, written as 64 hex characters; far beyond guessing over HTTP. */
const ADMIN_TOKEN_BYTES = 32;
/** Only the control plane's user may read the token; anyone holding it can change the mesh. */
const ADMIN_TOKEN_MODE = 0o600;
const ADMIN_TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/** Returns the state directory's admin token, creating `<stateDir>/admin.token` on first start. */
export async function ensureAdminToken(stateDir: string): Promise<string> {
  const file = adminTokenPath(stateDir);
  const existing = await readToken(file);
  if (existing !== undefined) return existing;
  const token = randomBytes(ADMIN_TOKEN_BYTES).toString('hex');
  await durableFiles.writeAtomic(file, token + '\n', ADMIN_TOKEN_MODE);
  return token;
}

async function readToken(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new L4meshError('L4MESH_ERR_CONFIG', `cannot read the admin token ${file}: ${(err as Error).message}; check its permissions`, { cause: err });
  }
  const token = text.trim();
  if (!ADMIN_TOKEN_PATTERN.test(token)) {
    throw new L4meshError(
      'L4MESH_ERR_CONFIG',
      `the admin token ${file} is not 64 hex characters; delete it to have the control plane create a new one (clients must then use the new token)`,
    );
  }
  return token;
}
